"Neuron components: slices of a neuron tuned by the unchanged Precise SFT machinery (frozen weights bit-identical, exact PEFT round trip); neuron-level locate."
import copy, os, subprocess, sys
import pytest, torch
import numpy as np
from arith_interp.models import tiny_model, hf_module, model_name
from arith_interp.sites import Component, spec, parse_components
from arith_interp.adapters import (DeltaAdapter, component_slices, component_masks, delta_adapter, save_peft, load_adapter,
                                   merge_adapter, peft_tensors)
from arith_interp.tuners import make_tuner
from arith_interp.training import train, tokenize_examples, arithmetic_examples

NEURONS = parse_components('m0.n3,m0.n40,m1.n0,m1.n63')
IDS = torch.tensor([[3, 4, 12, 5, 16, 7]])

def _data(m, n=48): return tokenize_examples(m.tokenizer, arithmetic_examples(n, seed=0), seq=16)
def _logits(m): return hf_module(m)(IDS).logits.detach()

def test_neuron_masks_are_rows_and_a_column():
    m = tiny_model()
    masks = component_masks(m, [Component(1, neuron=7)])
    assert sorted(n.split('.')[-2] for n in masks) == ['down_proj', 'gate_proj', 'up_proj']
    for name, mk in masks.items():
        want = torch.zeros_like(mk)
        if 'down_proj' in name: want[:, 7] = True
        else: want[7] = True
        assert torch.equal(mk, want), name

def test_delta_adapter_over_neurons_keeps_frozen_weights_bit_identical():
    m = tiny_model(); base = copy.deepcopy(hf_module(m).state_dict())
    t = make_tuner(m, 'precise', NEURONS)
    assert t.n_params() == len(NEURONS) * 3 * spec(m).d_model
    train(m, t, _data(m), steps=4, batch=8, lr=1e-2, weight_decay=0.1)
    assert all(torch.equal(v, hf_module(m).state_dict()[k]) for k, v in base.items())   # hooked: base untouched
    assert all(p.abs().sum() > 0 for p in t.params())                                   # every delta trained
    masks = component_masks(m, NEURONS)
    merged = hf_module(t.merge()).state_dict()
    changed = {k for k, v in base.items() if not torch.equal(v, merged[k])}
    assert changed == set(masks)
    for k in changed: assert torch.equal(merged[k][~masks[k]], base[k][~masks[k]])

def test_neuron_adapter_peft_round_trip_is_exact(tmp_path):
    m = tiny_model(); t = make_tuner(m, 'precise', NEURONS)
    train(m, t, _data(m), steps=3, batch=8, lr=1e-2)
    want = _logits(m)
    t.save(tmp_path/'ad', model=model_name(m))
    fresh = tiny_model(); ad = load_adapter(fresh, tmp_path/'ad')
    assert all(torch.equal(a, b) for a, b in zip(ad.deltas, t.adapter.deltas))        # deltas read back bit-exact
    assert torch.equal(_logits(fresh), want)
    assert torch.allclose(_logits(merge_adapter(tiny_model(), tmp_path/'ad')), want, atol=1e-5)
    plain = tiny_model(); hf_module(plain).load_adapter(str(tmp_path/'ad'))           # transformers' own PEFT loader
    assert torch.allclose(_logits(plain), want, atol=1e-5)
    tensors, ranks = peft_tensors(t.adapter)
    assert ranks['model.layers.0.mlp.down_proj'] == 2 and ranks['model.layers.1.mlp.gate_proj'] == 2   # rank = neurons


# ---- neuron-level locate ----
import nnsight, subprocess
from arith_interp.data import make_pairs, encode_pairs, write_jsonl
from arith_interp.sites import neuron_site
from arith_interp.patching import fwd_kw, logit_stats, metric_score, METRICS
from arith_interp import neurons as N

@pytest.fixture(scope='module')
def setup():
    m = tiny_model(n_layers=3, seed=2)
    b = encode_pairs(m.tokenizer, make_pairs(m.tokenizer, ops=('+', '*'), n=10, cf='resample', seed=3))
    return m, b

def _hook_oracle(m, b, comps, values):
    "Stats [N, B, 3]: one plain HF forward per neuron, its last-position down_proj input replaced by a pre-hook"
    hf, out = hf_module(m), []
    for c in comps:
        def hook(mod, args, c=c):
            x = args[0].clone(); x[:, -1, c.neuron] = values[:, c.layer, c.neuron]; return (x,)
        h = neuron_site(hf, c.layer).register_forward_pre_hook(hook)
        with torch.no_grad(): out.append(logit_stats(hf(**fwd_kw(b.clean, b.mask)).logits[:, -1], b.answer, b.corrupt_answer))
        h.remove()
    return torch.stack(out)

@pytest.mark.parametrize('remote', [False, 'local'])
def test_exact_neuron_patching_matches_hook_oracle_on_every_neuron(setup, remote):
    m, b = setup; s = spec(m)
    with torch.no_grad(), m.session(remote=False):
        clean = nnsight.save(N.neuron_cache(m, b, 'clean')); corrupt = nnsight.save(N.neuron_cache(m, b, 'corrupt'))
    every = N.neurons_of(s)
    assert len(every) == s.n_layers * s.d_mlp
    table, stats = N.neuron_patching(m, b, every, 'prob', remote=remote, rows=7 * len(b), return_stats=True)
    oracle = _hook_oracle(m, b, every, corrupt[0])
    assert (stats - oracle).abs().max() <= 1e-5
    for metric in METRICS:
        want = metric_score(metric, oracle, clean[1], corrupt[1])
        got = N.neuron_patching(m, b, every, metric, remote=remote).score.values
        assert abs(torch.tensor(got) - want).max() <= 1e-5, metric

def test_atp_every_neuron_one_backward_matches_linear_estimate(setup):
    "AtP equals (counterfactual − clean activation) · gradient, the gradient taken by plain autograd"
    m, b = setup; hf = hf_module(m)
    t = N.neuron_attribution(m, b, 'logit_diff')
    assert len(t) == spec(m).n_layers * spec(m).d_mlp and list(t.neuron[:3]) == [0, 1, 2]
    with torch.no_grad(), m.session(remote=False):
        corrupt = nnsight.save(N.neuron_cache(m, b, 'corrupt'))
    c = Component(1, neuron=5); seen = {}
    def hook(mod, args):
        x = args[0].detach().requires_grad_(True); seen['x'] = x; return (x,)
    h = neuron_site(hf, 1).register_forward_pre_hook(hook)
    stats = logit_stats(hf(**fwd_kw(b.clean, b.mask)).logits[:, -1], b.answer, b.corrupt_answer); h.remove()
    from arith_interp.patching import metric_value
    metric_value('logit_diff', stats, stats.detach(), corrupt[1]).backward()
    want = ((corrupt[0][:, 1, 5] - seen['x'][:, -1, 5].detach()) * seen['x'].grad[:, -1, 5]).sum()
    assert abs(t.set_index('component').score['m1.n5'] - want.item()) < 1e-5

def test_locate_cli_writes_one_row_per_neuron(tmp_path):
    m = tiny_model(); write_jsonl(make_pairs(m.tokenizer, ops=('+',), n=6, cf='resample', seed=0), tmp_path/'p.jsonl')
    def run(*a):
        return subprocess.run([sys.executable, '-m', 'arith_interp.cli', 'locate', '--model', 'tiny', '--pairs',
                               str(tmp_path/'p.jsonl'), *a], capture_output=True, text=True)
    for method in ('atp', 'act'):
        r = run('--unit', 'neuron', '--method', method, '--layers', '1', '--out', str(tmp_path/f'{method}.csv'))
        assert r.returncode == 0, r.stderr[-2000:]
        import pandas as pd
        t = pd.read_csv(tmp_path/f'{method}.csv')
        assert len(t) == 64 and set(t.kind) == {'neuron'} and (t.layer == 1).all()
        assert {'component', 'layer', 'neuron', 'score', 'head', 'method', 'metric', 'n_pairs', 'model', 'seed'} <= set(t.columns)
        assert t.component.tolist() == [f'm1.n{i}' for i in t.neuron]
    r = run('--unit', 'neuron', '--method', 'path', '--out', str(tmp_path/'x.csv'))
    assert r.returncode == 2 and 'atp or act' in r.stderr


# ---- counterfactual types (data) ----
import json
from arith_interp.data import make_pairs as _make_pairs, CF_TYPES, tok_ids, result, operands_of, with_counterfactual
from arith_interp.cli import tokenizer_for, cli_data

@pytest.fixture(scope='module')
def smol_tok(): return tokenizer_for('smollm2-135m')

@pytest.mark.parametrize('cf', CF_TYPES)
def test_counterfactual_types_on_the_real_tokenizer(smol_tok, cf):
    recs = _make_pairs(smol_tok, n=300, cf=cf, seed=0, k_shot=2)
    assert len(recs) > 100
    for r in recs:
        assert len(tok_ids(smol_tok, r['clean'])) == len(tok_ids(smol_tok, r['corrupt'])), r
        assert r['counterfactual'] == cf and r['clean'] != r['corrupt']
        prefix, a, b = operands_of(r)
        corrupt_ops = operands_of(dict(r, clean=r['corrupt']))
        if cf == 'result-fixed':
            assert r['answer'] == r['corrupt_answer'] and corrupt_ops[1:] != (a, b)
            assert result(r['op'], *corrupt_ops[1:]) == int(r['answer'])
        elif cf == 'operand':
            assert r['answer'] != r['corrupt_answer'] and corrupt_ops[1:] != (a, b)
        else:
            assert r['answer'] != r['corrupt_answer'] and corrupt_ops is None     # other operator, same operands
            assert f'{a}' in r['corrupt'] and f'{b}' in r['corrupt']

def test_data_cli_writes_each_counterfactual_type(tmp_path, capsys):
    for cf in CF_TYPES:
        out = tmp_path/f'{cf}.jsonl'
        assert cli_data(['--model', 'smollm2-135m', '--n', '120', '--counterfactual', cf, '--out', str(out)]) == 0
        recs = [json.loads(line) for line in out.read_text().splitlines()]
        assert recs and all(r['counterfactual'] == cf for r in recs)
        if cf == 'result-fixed': assert all(r['answer'] == r['corrupt_answer'] for r in recs)

def test_retyping_keeps_the_clean_prompts(smol_tok):
    recs = _make_pairs(smol_tok, n=80, cf='nulled', seed=1)
    for cf in CF_TYPES:
        again = with_counterfactual(smol_tok, recs, cf, seed=0)
        assert len(again) > 40 and {r['clean'] for r in again} <= {r['clean'] for r in recs}


# ---- NDIF: forward-only neuron methods and counterfactual types run with the package hidden from the simulated server ----
from arith_interp.ndif import server_without, registered
from arith_interp import patching as P
from arith_interp.knockout import knockout

def _same(a, b, tol): return float(abs(np.array(a, dtype=float) - np.array(b, dtype=float)).max()) <= tol

NDIF_CASES = {
    'neuron_patching': (lambda m, b, rem: N.neuron_patching(m, b, 'm0.n1,m1.n5,m2.n60', 'logit', remote=rem).score.values, 1e-5),
    'neuron_faithfulness': (lambda m, b, rem: N.neuron_faithfulness(m, b, N.neuron_attribution(m, b), [1, 2], (0, 3, 64), remote=rem).accuracy.values, 0.),
    'operand_grid': (lambda m, b, rem: N.operand_grid(m, 'm1.n5,m2.n0', '{a}[[+]]{b}=', range(4), remote=rem).activation.values, 1e-6),
    'result-fixed patching': (lambda m, b, rem: P.activation_patching(m, encode_pairs(m.tokenizer, with_counterfactual(
        m.tokenizer, b.records, 'result-fixed')), 'logit', remote=rem, backend='nnsight').score.values, 0.),
}

@pytest.mark.parametrize('name', list(NDIF_CASES))
def test_remote_with_package_hidden_matches_local(setup, name):
    m, b = setup; fn, tol = NDIF_CASES[name]
    local = fn(m, b, False)
    with server_without('arith_interp'):
        remote = fn(m, b, 'local')
    assert registered() and _same(local, remote, tol), (name, local, remote)


def test_component_methods_refuse_neurons(setup):
    "Head/MLP patching would treat a neuron as its whole MLP: every entry point refuses one, naming the neuron module"
    m, b = setup
    for fn in (lambda: P.activation_patching(m, b, comps='a0.h1,m1.n2'), lambda: P.path_patching(m, b, comps=['m1.n2']),
               lambda: knockout(m, b, ['m1.n2']), lambda: knockout(m, b, [['m0'], ['m1.n2']])):
        with pytest.raises(ValueError, match='are MLP neurons'): fn()
