"Integration tests on the embedded SmolLM2-135M (real weights, CPU) and on the weight cache."
import json, os, subprocess, sys, pathlib, shutil
import pytest, torch
import pandas as pd
from arith_interp.core import file_sha256, load_json
from arith_interp.embedded import embedded_weights, cache_ok
from arith_interp.models import load_model, model_info, tiny_model, hf_module
from arith_interp.sites import spec, to_logits, block_site, hidden

BIN = pathlib.Path(sys.executable).parent

@pytest.fixture(scope='module')
def smol(): return load_model()

def test_info_command_prints_smollm2_facts():
    r = subprocess.run([str(BIN/'arith-interp'), 'info'], capture_output=True, text=True, check=True)
    info = json.loads(r.stdout)
    assert (info['layers'], info['heads'], info['kv_heads'], info['d_head'], info['d_model']) == (30, 9, 3, 64, 576)
    assert info['architecture'] == 'LlamaForCausalLM' and info['vocab'] == 49152

def test_few_shot_addition_next_token(smol):
    ids = smol.tokenizer('1+2=3\n5+3=8\n2+2=4\n6+1=7\n3+5=', return_tensors='pt').input_ids
    with torch.no_grad(): nxt = smol._module(ids).logits[0, -1].argmax()
    assert smol.tokenizer.decode(nxt) == '8'

def test_nnsight_logits_match_bare_hf(smol):
    ids = smol.tokenizer(['1+2=3\n2+5=', '4+4='], return_tensors='pt', padding=True)
    with torch.no_grad():
        with smol.trace(ids.input_ids, attention_mask=ids.attention_mask):
            res = block_site(smol, spec(smol).n_layers - 1).output.save()
            lg = smol.output.logits.save()
        pos = (ids.attention_mask.cumsum(-1) - 1).clamp(min=0)   # nnsight supplies these for left-padded rows
        ref = smol._module(**ids, position_ids=pos).logits
    torch.testing.assert_close(lg, ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(to_logits(smol, hidden(res)), ref, atol=1e-4, rtol=0)

def test_truncated_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv('ARITH_INTERP_CACHE', str(tmp_path))
    d = embedded_weights()
    f = d/'model.safetensors'
    f.write_bytes(f.read_bytes()[:1000])          # simulate a crash that left a truncated file
    assert not cache_ok(d)
    assert cache_ok(embedded_weights())           # rebuilt, not a crash
    assert len(list(tmp_path.glob('weights/*'))) == 1   # no stray temp folders

def test_unknown_model_errors_list_what_is_supported():
    r = subprocess.run([str(BIN/'arith-interp'), 'info', '--model', './no-such-model'], capture_output=True, text=True)
    assert r.returncode == 2 and 'an embedded model (smollm2-135m)' in r.stderr

def test_damaged_cache_of_the_same_size_and_mtime_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv('ARITH_INTERP_CACHE', str(tmp_path))
    d = embedded_weights()
    f = d/'model.safetensors'
    before = f.stat()
    with open(f, 'r+b') as fh:
        fh.seek(1 << 20)
        fh.write(os.urandom(4096))                 # 4 KB of garbage inside the weights, same size
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (f.stat().st_size, f.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert not cache_ok(d)                         # found by content
    good = file_sha256(embedded_weights()/'model.safetensors')
    assert good == load_json(d/'manifest.json')['model.safetensors']['sha256'] and cache_ok(d)

def test_folder_without_tokenizer_fails_at_load(tmp_path):
    hf_module(tiny_model('qwen2')).save_pretrained(tmp_path/'bare')
    r = subprocess.run([str(BIN/'arith-interp'), 'info', '--model', str(tmp_path/'bare')], capture_output=True, text=True)
    assert r.returncode != 0 and 'has no usable tokenizer' in r.stderr, r.stderr[-500:]
    with pytest.raises(ValueError, match='has no usable tokenizer'):
        load_model(str(tmp_path/'bare'))

def _nan_model():
    m = tiny_model()
    with torch.no_grad():
        for p in hf_module(m).parameters(): p.fill_(float('nan'))
    return m

def test_nan_weights_are_refused_by_rankings_metrics_and_evaluations():
    from arith_interp.data import make_pairs, encode_pairs
    from arith_interp.patching import activation_patching
    from arith_interp.ranking import locate, top_k
    from arith_interp.lrp import lrp_scores
    from arith_interp.evaluation import pair_scores, eval_mc
    m = _nan_model()
    recs = make_pairs(m.tokenizer, ops=['+'], n=4, seed=0)
    b = encode_pairs(m.tokenizer, recs)
    calls = [lambda: activation_patching(m, b, 'logit'), lambda: locate(m, b, 'path', 'logit'),
             lambda: lrp_scores(m, b), lambda: pair_scores(m, recs),
             lambda: eval_mc(m, [dict(id=0, label=0, contexts=['1+1=', '1+1='], continuations=['2', '3'])])]
    for call in calls:
        with pytest.raises(ValueError, match=r"NaN or infinite \(model 'tiny-llama-seed0'\).*rebuild the weight cache"):
            call()
    table = pd.DataFrame(dict(component=['a0.h0'], kind=['head'], score=[float('nan')], model=['x']))
    with pytest.raises(ValueError, match=r"1 score\(s\) are NaN, infinite or not numbers, in rows of a0.h0") as e:   # the rows, not the weights
        top_k(table)
    assert 'weight cache' not in str(e.value)

def test_rebuilt_weight_cache_has_the_usual_mode(tmp_path, monkeypatch):
    "The weight cache is 0644 under umask 022, though safetensors writes 0600 (issue 24); the GGUF loaders are stubbed by the tiny model"
    from arith_interp import embedded
    from arith_interp.models import digit_tokenizer
    monkeypatch.setattr(embedded.AutoTokenizer, 'from_pretrained', lambda *a, **k: digit_tokenizer())
    monkeypatch.setattr(embedded.AutoModelForCausalLM, 'from_pretrained', lambda *a, **k: hf_module(tiny_model()))
    old = os.umask(0o022)
    try: embedded._build_cache(tmp_path/'model.gguf', tmp_path/'weights')
    finally: os.umask(old)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in (tmp_path/'weights').iterdir()}
    assert 'model.safetensors' in modes and set(modes.values()) == {'0o644'}, modes
    assert cache_ok(tmp_path/'weights')
