"Precise SFT on the tiny model: frozen weights bit-identical, exact masks (GQA), save/load/merge, resume, CLI."
import json, subprocess, sys, pathlib, copy
import pytest, torch
from arith_interp.models import tiny_model, hf_module, model_name
from arith_interp.sites import Component, spec
from arith_interp.sft import *

ROOT = pathlib.Path(__file__).parents[1]
COMPS = [Component(0, 1), Component(1, 3), Component(1)]
IDS = torch.tensor([[3, 4, 12, 5, 16, 7]])

def _data(m, n=48): return tokenize_examples(m.tokenizer, arithmetic_examples(n, seed=0), seq=16)
def _logits(m): return hf_module(m)(IDS).logits.detach()

@pytest.mark.parametrize('kv', ['shared', 'none'])
def test_masks_exact(kv):
    m = tiny_model(); s = spec(m); d = s.d_head
    masks = component_masks(m, [Component(1, 3)], kv)
    for name, mk in masks.items():
        want = torch.zeros_like(mk)
        if 'q_proj' in name: want[3*d:4*d] = True
        elif 'o_proj' in name: want[:, 3*d:4*d] = True
        else: want[s.kv_group(3)*d:(s.kv_group(3)+1)*d] = True   # k/v: group 1 under GQA (heads 2, 3)
        assert torch.equal(mk, want), name
    assert any('k_proj' in n for n in masks) == (kv == 'shared')

def test_weight_decay_trap_and_delta_method_bit_identical():
    m = tiny_model(); w = hf_module(m).model.layers[0].self_attn.q_proj.weight
    mk = component_masks(m, [Component(0, 1)])['model.layers.0.self_attn.q_proj.weight']
    w0 = w.detach().clone(); w.register_hook(lambda g: g * mk)
    opt = torch.optim.AdamW([w], lr=1e-2, weight_decay=0.1); (w.sum()**2).backward(); opt.step()
    assert not torch.equal(w.detach()[~mk], w0[~mk])          # plain masked AdamW with wd>0 moves frozen elements
    m = tiny_model(); base = copy.deepcopy(hf_module(m).state_dict())
    t = make_tuner(m, 'precise', COMPS, rescale=True)
    train(m, t, _data(m), steps=4, batch=8, lr=1e-2, weight_decay=0.1)
    assert all(torch.equal(v, hf_module(m).state_dict()[k]) for k, v in base.items())
    merged = t.merge()
    changed = {k for k, v in base.items() if not torch.equal(v, hf_module(merged).state_dict()[k])}
    allowed = set(component_masks(m, COMPS))
    assert changed and changed <= allowed
    for k in changed:                                           # merged: only masked elements differ
        mk = component_masks(m, COMPS)[k]
        assert torch.equal(hf_module(merged).state_dict()[k][~mk], base[k][~mk])

def test_save_load_merge_reproduces_logits(tmp_path):
    m = tiny_model(); t = make_tuner(m, 'precise', COMPS); train(m, t, _data(m), steps=3, batch=8, lr=1e-2)
    want = _logits(m); t.save(tmp_path/'a', model=model_name(m))
    fresh = tiny_model(); load_adapter(fresh, tmp_path/'a')
    assert torch.equal(_logits(fresh), want)
    assert torch.allclose(_logits(merge_adapter(tiny_model(), tmp_path/'a')), want, atol=1e-5)
    assert torch.allclose(_logits(apply_adapter(tiny_model(), tmp_path/'a')), want, atol=1e-5)
    assert (tmp_path/'a'/'adapter.safetensors').stat().st_size < 0.5 * sum(p.numel()*4 for p in hf_module(m).parameters())

def test_resume_matches_straight_run(tmp_path):
    def run(stop, resume, out):
        m = tiny_model(); t = make_tuner(m, 'precise', COMPS)
        train(m, t, _data(m), steps=6, batch=8, lr=1e-2, out=out, ckpt_every=1, resume=resume, stop_after=stop); return t
    a = run(None, False, tmp_path/'a'); run(3, False, tmp_path/'b'); b = run(None, True, tmp_path/'b')
    assert all(torch.equal(x, y) for x, y in zip(a.params(), b.params()))

def test_lora_budget_and_merge(tmp_path):
    m = tiny_model(); budget = sum(int(v.sum()) for v in component_masks(m, COMPS).values())
    t = make_tuner(m, 'lora', COMPS)
    assert t.n_params() == lora_rank_for(m, budget) * lora_params_per_rank(m)
    train(m, t, _data(m), steps=2, batch=8, lr=1e-2); t.save(tmp_path/'l', model=model_name(m)); t.merge()
    assert torch.allclose(_logits(apply_adapter(tiny_model(), tmp_path/'l')), _logits(m), atol=1e-5)

def test_cli_subprocess(tmp_path):
    out = tmp_path/'ad'
    r = subprocess.run([sys.executable, '-c', 'import sys; from arith_interp.cli import cli_sft; sys.exit(cli_sft())',
                        '--model', 'tiny', '--components', 'a0.h1,a1.h2', '--mlps', 'm1', '--steps', '3', '--batch', '4', '--seq', '16',
                        '--n-gsm8k', '0', '--n-arith', '16', '--ckpt-every', '1', '--out', str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout.strip().splitlines()[-1])
    assert j['components'] == ['a0.h1', 'a1.h2', 'm1'] and j['steps'] == 3
    assert adapter_info(out)['format'] == 'delta' and json.loads((out/'checkpoint'/'state.json').read_text())['step'] == 3

def test_kv_none_trains_q_and_o_only():
    m = tiny_model(); base = copy.deepcopy(hf_module(m).state_dict())
    t = make_tuner(m, 'precise', [Component(0, 1)], kv='none'); train(m, t, _data(m), steps=2, batch=8, lr=1e-2); t.merge()
    changed = {k for k, v in base.items() if not torch.equal(v, hf_module(m).state_dict()[k])}
    assert changed == {'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.o_proj.weight'}

def test_full_save_with_tied_embeddings(tmp_path):
    def tied():
        m = tiny_model(); hf = hf_module(m); hf.lm_head.weight = hf.model.embed_tokens.weight; return m
    m = tied(); t = make_tuner(m, 'full'); train(m, t, _data(m), steps=1, batch=8, lr=1e-2); t.save(tmp_path/'f'); t.merge()
    assert torch.equal(_logits(apply_adapter(tied(), tmp_path/'f')), _logits(m))

def test_evaluate_with_adapter(tmp_path):
    "`arith-interp evaluate --adapter` merges the trained slices: same result as evaluating the merged model directly"
    from arith_interp.cli import cli_evaluate
    from arith_interp.evaluation import evaluate
    m = tiny_model(); t = make_tuner(m, 'precise', COMPS)
    train(m, t, _data(m), steps=2, batch=8, lr=5e-2); t.save(tmp_path/'ad', model=model_name(m)); t.merge()
    assert cli_evaluate(['--model', 'tiny', '--suite', 'arith', '--limit', '4', '--adapter', str(tmp_path/'ad'), '--out', str(tmp_path/'r.json')]) == 0
    res = json.loads((tmp_path/'r.json').read_text())
    assert res['provenance']['model'] == 'tiny-llama-seed0+ad'
    direct = evaluate(m, ['arith'], 4).value.tolist()
    assert [r['value'] for r in res['rows']] == direct
    assert evaluate(tiny_model(), ['arith'], 4).value.tolist() != direct      # the adapter changed something
