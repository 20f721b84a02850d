"Precise SFT on the tiny model: frozen weights bit-identical, exact masks (GQA), save/load/merge, PEFT format, resume, CLI, accelerate, the one train/evaluate/cache path."
import json, subprocess, sys, pathlib, copy, socket, shutil, os
import pytest, torch
from arith_interp.models import tiny_model, hf_module, model_name
from arith_interp.sites import Component, spec
from arith_interp.adapters import *
from arith_interp.tuners import *
from arith_interp.training import *
from arith_interp.sft import *
from arith_interp.cli import cli_sft

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
    assert (tmp_path/'a'/'adapter_model.safetensors').stat().st_size < 0.5 * sum(p.numel()*4 for p in hf_module(m).parameters())

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
    assert adapter_info(out)['format'] == 'peft' and json.loads((out/'checkpoints'/'checkpoint-3'/'trainer_state.json').read_text())['global_step'] == 3

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

# ---- PEFT format: loads and merges with plain peft, no arith_interp import ----
PEFT_CHECK = r'''
import sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base, adapter, want, ids = sys.argv[1], sys.argv[2], torch.load(sys.argv[3]), torch.load(sys.argv[4])
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).eval()
with torch.no_grad():
    peft_logits = model(ids).logits
    merged_logits = model.merge_and_unload()(ids).logits
assert 'arith_interp' not in sys.modules
print((peft_logits - want).abs().max().item(), (merged_logits - want).abs().max().item())
'''

def test_peft_adapter_loads_without_arith_interp(tmp_path):
    m = tiny_model(); t = make_tuner(m, 'precise', COMPS); train(m, t, _data(m), steps=3, batch=8, lr=1e-2)
    t.save(tmp_path/'ad', model=model_name(m))
    t.adapter.detach()                                      # save the base without the deltas, then compare with them attached
    hf_module(m).save_pretrained(tmp_path/'base')
    t.adapter.attach(m)
    want = _logits(m); torch.save(want, tmp_path/'want.pt'); torch.save(IDS, tmp_path/'ids.pt')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    r = subprocess.run([sys.executable, '-c', PEFT_CHECK, str(tmp_path/'base'), str(tmp_path/'ad'), str(tmp_path/'want.pt'), str(tmp_path/'ids.pt')],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert all(float(x) < 1e-5 for x in r.stdout.split()), r.stdout
    merged = _logits(t.merge())
    assert torch.allclose(merged, want, atol=1e-5)

def test_nnsight_traces_peft_adapted_model(tmp_path):
    m = tiny_model(); t = make_tuner(m, 'precise', COMPS); train(m, t, _data(m), steps=2, batch=8, lr=1e-2)
    t.save(tmp_path/'ad', model=model_name(m)); want = _logits(m)
    fresh = tiny_model(); hf_module(fresh).load_adapter(str(tmp_path/'ad'))   # transformers' PEFT integration, in place
    with fresh.trace(IDS):
        logits = fresh.lm_head.output.save()
    assert torch.allclose(logits, want, atol=1e-5)

def test_evaluate_adapter_takes_any_peft_adapter(tmp_path):
    "A LoRA adapter made with plain peft (no adapter.json) merges through `apply_adapter` (what `evaluate --adapter` calls)"
    from peft import LoraConfig, get_peft_model
    hf = hf_module(tiny_model())
    pm = get_peft_model(hf, LoraConfig(r=2, target_modules=['q_proj', 'v_proj'], init_lora_weights=False))
    pm.save_pretrained(str(tmp_path/'plain')); want = pm(IDS).logits.detach()
    assert adapter_info(tmp_path/'plain')['format'] == 'lora'
    assert torch.allclose(_logits(apply_adapter(tiny_model(), tmp_path/'plain')), want, atol=1e-5)

# ---- refusing to overwrite, Ctrl-C ----
def _cli(out, *extra):
    return cli_sft(['--model', 'tiny', '--components', 'a0.h1', '--steps', '2', '--batch', '4', '--seq', '16',
                    '--n-gsm8k', '0', '--n-arith', '16', '--ckpt-every', '1', '--out', str(out), *extra])

def test_refuses_existing_run_without_resume_or_overwrite(tmp_path, capsys):
    assert _cli(tmp_path/'r') == 0
    with pytest.raises(FileExistsError, match='--resume.*--overwrite'): _cli(tmp_path/'r')
    (tmp_path/'f').write_text('x')
    with pytest.raises(FileExistsError, match='is a file'): _cli(tmp_path/'f')
    assert _cli(tmp_path/'r', '--overwrite') == 0
    assert _cli(tmp_path/'r', '--resume') == 0            # already finished: resumes at step 2 of 2, nothing left to do

def test_ctrl_c_prints_one_line_and_resume_is_exact(tmp_path, capsys, monkeypatch):
    from transformers import TrainerCallback
    import arith_interp.sft as sft
    class CtrlC(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 2: raise KeyboardInterrupt
    real = sft.train
    monkeypatch.setattr(sft, 'train', lambda *a, **kw: real(*a, **{**kw, 'callbacks': [*kw.get('callbacks', []), CtrlC()]}))
    args = ['--steps', '4', '--lr', '1e-2']
    assert _cli(tmp_path/'r', *args) == 130
    err = capsys.readouterr().err
    said = [l for l in err.replace('\r', '\n').splitlines() if l.startswith('arith-interp sft:')]   # the rest is the progress bar
    assert 'Traceback' not in err and len(said) == 1 and 'checkpoint-1' in said[0] and '--resume' in said[0], err
    monkeypatch.setattr(sft, 'train', real)
    assert _cli(tmp_path/'r', *args, '--resume') == 0
    assert _cli(tmp_path/'s', *args) == 0
    from safetensors.torch import load_file
    a, b = load_file(str(tmp_path/'r'/'adapter_model.safetensors')), load_file(str(tmp_path/'s'/'adapter_model.safetensors'))
    assert all(torch.equal(a[k], b[k]) for k in a)

# ---- accelerate: two CPU processes give the same deltas as one at the same effective batch ----
# (`--cpu` launches ONE process in accelerate 1.15 unless an mpirun hostfile is given; `--multi_gpu` starts torchrun, gloo on a CPU-only machine)
LAUNCH = "import sys\nfrom arith_interp.cli import main\nsys.exit(main(['sft'] + sys.argv[1:]))\n"

def _free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_accelerate_two_processes_match_one(tmp_path):
    (tmp_path/'launch.py').write_text(LAUNCH)
    common = ['--model', 'tiny', '--components', 'a0.h1,a1.h2', '--mlps', 'm1', '--steps', '3', '--batch', '8', '--seq', '16',
              '--n-gsm8k', '0', '--n-arith', '32', '--lr', '1e-2']
    acc = shutil.which('accelerate') or str(pathlib.Path(sys.executable).parent/'accelerate')
    r = subprocess.run([acc, 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no', '--dynamo_backend', 'no',
                        '--main_process_port', str(_free_port()), str(tmp_path/'launch.py'), *common, '--out', str(tmp_path/'two')],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert cli_sft(common + ['--grad-accum', '2', '--out', str(tmp_path/'one')]) == 0
    from safetensors.torch import load_file
    a, b = load_file(str(tmp_path/'one'/'adapter_model.safetensors')), load_file(str(tmp_path/'two'/'adapter_model.safetensors'))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5
    assert json.loads((tmp_path/'two'/'train.json').read_text())['processes'] == 2

@pytest.mark.slow
def test_peft_adapter_on_smollm2(tmp_path):
    "The same round trip on the embedded SmolLM2-135M (GQA 9/3): trained, PEFT-loaded and merged logits agree to 1e-5 of the largest logit"
    from arith_interp.models import load_model
    from arith_interp.sites import parse_components
    m = load_model('smollm2-135m', device='cpu'); s = spec(m)
    t = make_tuner(m, 'precise', parse_components('a14.h2,a21.h2,m24', s))
    train(m, t, tokenize_examples(m.tokenizer, arithmetic_examples(16, seed=0), seq=16), steps=2, batch=8, lr=1e-3)
    t.save(tmp_path/'ad', model=model_name(m))
    t.adapter.detach(); hf_module(m).save_pretrained(tmp_path/'base'); t.adapter.attach(m)
    ids = torch.tensor([[28, 19, 31, 33, 28, 30]])
    want = hf_module(m)(ids).logits.detach(); torch.save(want, tmp_path/'want.pt'); torch.save(ids, tmp_path/'ids.pt')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    r = subprocess.run([sys.executable, '-c', PEFT_CHECK, str(tmp_path/'base'), str(tmp_path/'ad'), str(tmp_path/'want.pt'), str(tmp_path/'ids.pt')],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    scale = want.abs().max().item()                         # 30 fp32 layers: hooked vs LoRA vs merged sums round differently (3e-5 absolute seen)
    assert all(float(x) < 1e-5 * scale for x in r.stdout.split()), (r.stdout, scale)

# ---- issue 24: adapters that do not fit, resuming another run, file modes ----
def _precise_adapter(path):
    m = tiny_model(); t = make_tuner(m, 'precise', COMPS); train(m, t, _data(m), steps=1, batch=8, lr=1e-2)
    t.save(path, model=model_name(m))
    return path

def test_truncated_adapter_is_one_clear_error(tmp_path, capsys):
    from arith_interp.cli import main
    ad = _precise_adapter(tmp_path/'ad')
    f = ad/'adapter_model.safetensors'
    f.write_bytes(f.read_bytes()[:64])
    code = main(['evaluate', '--model', 'tiny', '--suite', 'arith', '--limit', '2', '--adapter', str(ad), '--out', str(tmp_path/'r.json')])
    err = capsys.readouterr().err
    assert code == 2 and 'truncated or damaged' in err and 'Traceback' not in err, err

def test_adapter_into_another_model_names_its_base(tmp_path):
    ad = _precise_adapter(tmp_path/'ad')
    with pytest.raises(ValueError, match="adapter for 'tiny-llama-seed0' \\(its recorded base model\\), not for 'tiny-llama-seed1'"):
        apply_adapter(tiny_model(seed=1, d_model=64), ad)
    with pytest.raises(ValueError, match='recorded base model'):       # fewer layers: PEFT would only warn and skip them
        apply_adapter(tiny_model(seed=1, n_layers=1), ad)

def test_resume_with_other_components_is_refused_before_loading(tmp_path, capsys, monkeypatch):
    import arith_interp.training as training
    from arith_interp.cli import main
    assert _cli(tmp_path/'r', '--steps', '3') == 0
    loaded = []
    monkeypatch.setattr(training.SliceTrainer, 'train', lambda *a, **k: loaded.append(1))   # the checkpoint is loaded in there
    code = main(['sft', '--model', 'tiny', '--components', 'a1.h2', '--steps', '4', '--batch', '4', '--seq', '16',
                 '--n-gsm8k', '0', '--n-arith', '16', '--ckpt-every', '1', '--out', str(tmp_path/'r'), '--resume'])
    err = capsys.readouterr().err
    assert code == 2 and 'precise of a0.h1' in err and 'this run precise of a1.h2' in err and not loaded, err

def test_saved_files_have_the_usual_mode(tmp_path):
    "Adapters and trainer checkpoints are 0644 under umask 022 (safetensors writes 0600)"
    old = os.umask(0o022)
    try:
        assert _cli(tmp_path/'r', '--steps', '3') == 0
        lora = make_tuner(tiny_model(), 'lora', COMPS, lora_r=1)
        lora.save(tmp_path/'l', model='tiny')
        full = make_tuner(tiny_model(), 'full')
        full.save(tmp_path/'f', model='tiny')
    finally: os.umask(old)
    files = [p for d in ('r', 'l', 'f') for p in (tmp_path/d).rglob('*') if p.is_file()]
    assert any(p.suffix == '.safetensors' and 'checkpoint-' in str(p) for p in files)
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {'0o644'}, [(p.name, oct(p.stat().st_mode & 0o777)) for p in files]

# ---- issue 23: one SFT path (train, evaluate the saved result, cache) for the study, the stage and the notebooks ----
def test_the_study_takes_the_one_sft_path():
    "The selection study trains, merges and caches through `sft`, not through copies of its own"
    import arith_interp.sft as sft, arith_interp.study_runs as runs, arith_interp.study_tables as tables
    import arith_interp.study_neurons as neurons
    names = ('trained', 'tuned', 'cached_record', 'read_record')
    held = [(m, name) for m in (runs, tables, neurons) for name in names if hasattr(m, name)]
    assert {name for _, name in held} == set(names)   # the study's modules hold all four, each the one in `sft`
    for m, name in held: assert getattr(m, name) is getattr(sft, name), (m.__name__, name)

def test_old_public_names_still_import_from_sft():
    "The split modules' public names stay importable from `arith_interp.sft` (callers written before the split)"
    import arith_interp.sft as sft, arith_interp.adapters as a, arith_interp.tuners as t, arith_interp.training as tr
    for module in (a, t, tr):
        assert all(getattr(sft, name) is getattr(module, name) for name in module.__all__), module.__name__

def _eval(model):
    import pandas as pd
    from arith_interp.evaluation import answer_loss
    batches = answer_batches(model.tokenizer, arithmetic_examples(6, seed=9), seq=16, batch_size=3)
    return pd.DataFrame([{'metric': 'answer_loss', 'value': answer_loss(model, batches)}])

def test_sft_record_scores_the_saved_result_and_is_cached(tmp_path, capsys):
    kw = dict(steps=2, batch=4, seq=16, n_gsm8k=0, n_arith=16, lr=5e-2)
    live = tiny_model()
    run_sft(live, 'precise', COMPS, **kw)                                 # the same run, evaluated in memory
    rec = sft_record(tmp_path, 'p', tiny_model, 'precise', [c.name for c in COMPS], _eval, **kw)
    assert abs(rec['rows'][0]['value'] - _eval(live).value[0]) < 1e-5
    assert (tmp_path/'adapters'/'p'/'train.json').exists() and (tmp_path/'runs'/'p.json.gz').exists()
    assert sft_record(tmp_path, 'p', lambda: 1 / 0, 'precise', [], _eval) == rec     # read back: nothing loaded
    base = sft_record(tmp_path, 'base', tiny_model, 'base', [], _eval)
    table = runs_table([base, rec])
    assert list(table.run) == ['base', 'p'] and list(table.k_heads) == [0, 2] and list(table.n_mlps) == [0, 1]
    assert table.trainable_params.tolist() == [0, rec['train']['trainable_params']]
    assert table.value[0] != table.value[1]

def test_trained_resumes_an_interrupted_run(tmp_path, capsys):
    "A run stopped after a checkpoint and resumed by `trained` equals one trained straight through"
    kw = dict(steps=4, batch=4, seq=16, n_gsm8k=0, n_arith=16, lr=1e-2, ckpt_every=1)
    trained(tmp_path/'straight', tiny_model, 'precise', COMPS, **kw)
    with pytest.raises(Interrupted):
        run_sft(tiny_model(), 'precise', COMPS, out=tmp_path/'cut', callbacks=[_CtrlCAt(2)], **kw)
    assert not (tmp_path/'cut'/'train.json').exists()
    trained(tmp_path/'cut', tiny_model, 'precise', COMPS, **kw)
    from safetensors.torch import load_file
    a, b = (load_file(str(tmp_path/d/'adapter_model.safetensors')) for d in ('straight', 'cut'))
    assert all(torch.equal(a[k], b[k]) for k in a)

def _CtrlCAt(step):
    from transformers import TrainerCallback
    class CtrlC(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == step: raise KeyboardInterrupt
    return CtrlC()
