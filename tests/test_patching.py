"Exactness checks of arith_interp.patching / ranking that the notebooks do not show (tiny model, seconds on CPU)"
import json, subprocess, sys
from dataclasses import replace
import pytest, torch, nnsight
from arith_interp.models import tiny_model
from arith_interp.data import make_pairs, encode_pairs, write_jsonl, positions
from arith_interp.sites import head_site, mlp_site, head_slice, spec, to_logits
from arith_interp import patching as P
from arith_interp.attribution import attribution_patching
from arith_interp.knockout import ABLATIONS, ablation_values, knockout


@pytest.fixture(scope='module')
def setup():
    m = tiny_model(n_layers=3, seed=2)
    b = encode_pairs(m.tokenizer, make_pairs(m.tokenizer, ops=('+', '*'), n=10, cf='resample', seed=3))
    return m, b


def test_later_position_changes_nothing(setup):
    "Patching the position after the scored one (every head and MLP at once) leaves the scored logits unchanged"
    m, b = setup; s = spec(m)
    ids = torch.cat([b.clean, b.clean[:, -1:]], 1); mask = torch.cat([b.mask, b.mask[:, -1:]], 1)
    kw = dict(input_ids=ids, attention_mask=mask, position_ids=positions(mask))
    with torch.no_grad():
        with m.trace(**kw):
            ref = m.output.logits[:, -2].save()
        with m.trace(**kw):
            for L in range(s.n_layers):
                head_site(m, L).input[:, -1] = 0.
                mlp_site(m, L).output[:, -1] = 1.
            lg = m.output.logits.save()
    assert torch.equal(lg[:, -2], ref) and not torch.allclose(lg[:, -1], lg[:, -2])


def test_clean_into_clean_is_one_corrupt_into_corrupt_is_zero(setup):
    m, b = setup
    with torch.no_grad():
        with m.session(remote=False):
            cl = nnsight.save(P.activation_cache(m, b, 'clean'))
            co = nnsight.save(P.activation_cache(m, b, 'corrupt'))
    allc = P.components(spec(m))
    with torch.no_grad():
        st_cc = P.patched_run(m, b, [allc], cl.z, cl.mlp)
        st_kk = P.patched_run(m, replace(b, clean=b.corrupt), [allc], co.z, co.mlp)
    assert abs(P.metric_value('logit_diff', st_cc, cl.stats, co.stats).item() - 1) < 1e-5
    assert abs(P.metric_value('logit_diff', st_kk, cl.stats, co.stats).item()) < 1e-5


@pytest.mark.parametrize('metric', P.METRICS)
def test_fast_methods_match_brute_force(setup, metric):
    "Path patching vs the frozen-downstream oracle; KV-cache activation patching vs one nnsight forward per component"
    m, b = setup
    _, st = P.path_patching(m, b, metric, return_stats=True)
    orc = P.direct_oracle(m, b); keep = slice(None) if metric == 'prob' else slice(0, 2)
    assert (st[..., keep] - orc[..., keep]).abs().max() < 1e-5
    tf, sf = P.activation_patching(m, b, metric, backend='kv', return_stats=True)
    tn, sn = P.activation_patching(m, b, metric, backend='nnsight', rows=len(b), return_stats=True)
    assert (sf - sn).abs().max() < 1e-5 and (tf.score - tn.score).abs().max() < 1e-4


def test_remote_local_matches_local(setup):
    m, b = setup
    for fn in (P.path_patching, P.activation_patching, attribution_patching):
        a, r = fn(m, b, 'logit_diff'), fn(m, b, 'logit_diff', remote='local')
        assert (a.score - r.score).abs().max() < 1e-5, fn.__name__


def test_cli_subprocess(tmp_path):
    m = tiny_model(); write_jsonl(make_pairs(m.tokenizer, ops=('+',), n=6, cf='resample', seed=0), tmp_path/'p.jsonl')
    run = lambda *a: subprocess.run([sys.executable, '-c', 'import sys; from arith_interp.cli import cli_locate, cli_knockout; '
                                     f'sys.exit({a[0]}(sys.argv[1:]))', *a[1:]], capture_output=True, text=True)
    r = run('cli_locate', '--model', 'tiny', '--pairs', str(tmp_path/'p.jsonl'), '--method', 'act', '--metric', 'prob', '--out', str(tmp_path/'s.csv'))
    assert r.returncode == 0, r.stderr
    r = run('cli_knockout', '--model', 'tiny', '--pairs', str(tmp_path/'p.jsonl'), '--top-k', '2', '--from', str(tmp_path/'s.csv'), '--out', str(tmp_path/'k.json'))
    assert r.returncode == 0, r.stderr
    assert len(json.loads((tmp_path/'k.json').read_text())['random']) == 5
    r = run('cli_knockout', '--model', 'tiny', '--pairs', str(tmp_path/'p.jsonl'), '--out', str(tmp_path/'k.json'))
    assert r.returncode == 2 and 'exactly one' in r.stderr


@pytest.mark.parametrize('metric', P.METRICS)
def test_torch_backend_matches_nnsight(setup, metric):
    "The torch backend (the local default) against one nnsight forward per component, stats and scores"
    m, b = setup
    assert P.pick_backend(m) == 'torch'
    tf, sf = P.activation_patching(m, b, metric, return_stats=True)
    tn, sn = P.activation_patching(m, b, metric, backend='nnsight', rows=len(b), return_stats=True)
    assert (sf - sn).abs().max() < 1e-5 and (tf.score - tn.score).abs().max() < 1e-4
    two_rows = P.activation_patching(m, b, metric, backend='torch')
    assert (two_rows.score - tn.score).abs().max() < 1e-4


def _sets(s):
    "Groups as knockout and faithfulness make them: empty, one head, several layers, a layer-0 set, every component"
    every = P.components(s)
    return [[], every[5:6], [every[-1], every[1], every[7]], every[:3] + [every[4]], every]


def _cache(m, b, which:str):
    "The activation cache of the `which` ('clean' or 'corrupt') prompts, read through nnsight"
    with torch.no_grad(), m.session(remote=False):
        cache = nnsight.save(P.activation_cache(m, b, which))
    return cache


@pytest.mark.parametrize('ablation', ABLATIONS)
def test_backends_match_nnsight_on_sets(setup, ablation):
    "Sets of components (the empty set too) with ablation values: kv and torch stats within 1e-5 of nnsight's"
    m, b = setup
    reference = _cache(m, b, 'corrupt')
    z, mlp = ablation_values(ablation, reference, len(b), seed=4)
    groups = _sets(spec(m))
    with torch.no_grad():
        full = P.patched_run(m, b, groups, z, mlp, 'nnsight')
        for backend in ('kv', 'torch'):
            for rows in (None, 2 * len(b)):
                assert (P.patched_run(m, b, groups, z, mlp, backend, rows) - full).abs().max() < 1e-5, (backend, rows)
    assert (full[1:] - full[0]).abs().amax((1, 2)).min() > 1e-3       # every set changes the stats


@pytest.mark.parametrize('ablation', ABLATIONS)
def test_knockout_torch_backend_matches_full_forwards(setup, ablation):
    "knockout on the torch backend (its local default) against full nnsight forwards, on answers a knockout can move"
    m, b = setup
    clean = _cache(m, b, 'clean')
    own = replace(b, answer=to_logits(m, clean.resid).argmax(-1))     # the model's own answers: clean accuracy 1
    sets = [[c.name for c in group] for group in _sets(spec(m))[1:]]
    fast = knockout(m, own, sets, ablation, seed=5)
    full = knockout(m, own, sets, ablation, seed=5, backend='nnsight')
    assert fast == full and fast[0]['clean_accuracy'] == 1.0
    assert min(r['accuracy'] for r in full) < 1.0


def _tiny_qwen3():
    "A tiny random Qwen3 (q/k norms: not Llama-style attention) wrapped like `tiny_model`"
    from transformers import AutoConfig, AutoModelForCausalLM
    from arith_interp.models import digit_tokenizer, tag_model, TransformersModel
    tokenizer = digit_tokenizer()
    torch.manual_seed(0)
    config = AutoConfig.for_model('qwen3', vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, head_dim=8,
                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                  max_position_embeddings=128, tie_word_embeddings=False)
    hf = AutoModelForCausalLM.from_config(config, attn_implementation='eager').eval()
    return tag_model(TransformersModel(hf, tokenizer=tokenizer), 'tiny-qwen3-seed0', False)


def test_backend_choice_outside_llama_style_attention():
    "A model with q/k norms: locally the kv backend by default, an explicit torch backend refused; kv stays exact"
    m = _tiny_qwen3()
    b = encode_pairs(m.tokenizer, make_pairs(m.tokenizer, ops=('+',), n=6, cf='resample', seed=0))
    assert P.pick_backend(m) == 'kv' and P.pick_backend(m, remote='local') == 'nnsight'
    with pytest.raises(ValueError, match="backend='torch' computes Llama-style attention"):
        knockout(m, b, 'a0.h1', backend='torch')
    with pytest.raises(ValueError, match="backend='kv' runs locally only"):
        P.activation_patching(m, b, remote='local', backend='kv')
    _, kv = P.activation_patching(m, b, 'prob', return_stats=True)
    _, full = P.activation_patching(m, b, 'prob', backend='nnsight', return_stats=True)
    assert (kv - full).abs().max() < 1e-5
