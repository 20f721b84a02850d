"Integration tests on the embedded SmolLM2-135M (real weights, CPU) and on the weight cache."
import json, subprocess, sys, pathlib, shutil
import pytest, torch
from arith_interp.models import load_model, model_info, embedded_weights, cache_ok, tiny_model
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
    assert r.returncode == 2 and 'expected an embedded model (smollm2-135m)' in r.stderr
