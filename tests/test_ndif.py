"""NDIF readiness (issue 18): every remote-capable intervention runs under the offline simulation with the package hidden
from the simulated server and gives the local numbers; without registration the same request fails; the remote study."""
import os, json, pathlib
import pytest, torch, numpy as np, pandas as pd
import cloudpickle
import arith_interp
from arith_interp.models import tiny_model, register_package, hf_module
from arith_interp.data import make_pairs, encode_pairs
from arith_interp.evaluation import last_logits
from arith_interp.ndif import server_without, registered, remote_plan, skip_reason, STAGES
from arith_interp import patching as P, analysis as A, ranking as R
from arith_interp.knockout import knockout
from arith_interp.sites import ARCHS, spec


@pytest.fixture(scope='module')
def setup():
    m = tiny_model(n_layers=3, seed=2)
    recs = make_pairs(m.tokenizer, ops=('+', '*'), n=8, cf='resample', seed=3)
    return m, recs, encode_pairs(m.tokenizer, recs)


@pytest.fixture
def strict():
    "The package cannot be imported while the simulated server deserialises a request"
    with server_without('arith_interp') as refuse: yield refuse


def same(a, b, tol=0.): return torch.as_tensor(a, dtype=torch.float64).sub(torch.as_tensor(b, dtype=torch.float64)).abs().max().item() <= tol


# Each case: name -> fn(model, recs, batch, remote) returning a tensor; tolerance for remote vs local (0 = bit for bit).
CASES = {
    'path_patching': (lambda m, r, b, rem: torch.tensor(P.path_patching(m, b, 'logit_diff', remote=rem).score.values), 0.),
    'activation_patching': (lambda m, r, b, rem: torch.tensor(P.activation_patching(m, b, 'logit_diff', remote=rem, backend='nnsight').score.values), 0.),
    'activation_patching_vs_fast_local': (lambda m, r, b, rem: torch.tensor(P.activation_patching(m, b, 'logit_diff', remote=rem, backend=None if rem else 'kv').score.values), 1e-4),
    'knockout': (lambda m, r, b, rem: torch.tensor([d['accuracy'] for d in knockout(m, b, [['a0.h1', 'a2.h3'], ['m1']], remote=rem)]), 0.),
    'attention_shares': (lambda m, r, b, rem: torch.tensor(A.attention_shares(m, r, 'a0.h1,a2.h0', remote=rem)[['operand', 'operator', 'other']].values), 0.),
    'logit_lens': (lambda m, r, b, rem: A.lens_logits(m, [x['clean'] for x in r[:3]], remote=rem), 0.),
    'mlp_cosines': (lambda m, r, b, rem: torch.tensor(A.mlp_cosines(m, r, remote=rem, center_ids=A.digit_ids(m.tokenizer)).cos.values), 0.),
    'last_logits (data filter)': (lambda m, r, b, rem: last_logits(m, b.clean, b.mask, 4, remote=rem), 0.),
}


@pytest.mark.parametrize('name', list(CASES))
def test_remote_with_package_hidden_matches_local(setup, strict, name):
    m, recs, b = setup; fn, tol = CASES[name]
    local = fn(m, recs, b, False)
    remote = fn(m, recs, b, 'local')
    assert registered(), 'a remote call registers the package'
    assert same(local, remote, tol), (name, local, remote)


def test_faithfulness_remote_matches_local(setup, strict):
    "Faithfulness takes the full-forward path remotely and the KV-cache path locally: same curve to 1e-5"
    m, _, b = setup
    tab = P.path_patching(m, b, 'logit_diff')
    loc, rem = R.faithfulness(m, b, tab), R.faithfulness(m, b, tab, remote='local')
    assert same(loc['curve'].m.values, rem['curve'].m.values, 1e-5)


def test_without_registration_the_hidden_server_refuses(setup, strict):
    "Taking the registration away makes the same request fail in the deserialisation step, as it would on NDIF"
    m, _, b = setup
    register_package(); cloudpickle.unregister_pickle_by_value(arith_interp)
    try:
        with pytest.raises(ModuleNotFoundError, match='hidden from the simulated NDIF server'):
            with torch.no_grad(), m.session(remote='local'):        # a session opened directly: nothing registers the package
                with m.trace(**P.fwd_kw(b.clean, b.mask)):
                    P.logit_stats(m.output.logits[:, -1], b.answer, b.corrupt_answer).save()
    finally: register_package()
    assert registered()


def test_hidden_server_does_not_leak(setup):
    "Outside `server_without` the import hook is gone and the package imports normally"
    import sys, importlib
    with server_without(): pass
    assert not any(type(f).__name__ == '_Refuse' for f in sys.meta_path)
    assert importlib.import_module('arith_interp.sites').ARCHS


def test_remote_plan_from_config_alone():
    m = tiny_model()
    cfg = hf_module(m).config
    cfg.name_or_path = 'meta-llama/Llama-3.1-8B'
    plan = remote_plan(cfg, list(ARCHS))
    assert plan['supported'] and plan['hosted'] == 'always loaded'
    assert {s.stage for s in STAGES} == set(plan['stages'])
    assert plan['stages']['lrp'].startswith('skipped') and plan['stages']['data'].startswith('runs remotely')
    assert 'trusted key' in plan['stages']['locate']
    assert skip_reason('sft', 'local').startswith('sft: skipped on NDIF')


ROOT = pathlib.Path(__file__).parents[1]

@pytest.mark.slow   # two quick studies on SmolLM2: 10-20 minutes on a 2-core CPU
def test_quick_remote_study_matches_local(tmp_path):
    "`reproduce --quick --remote local`: the remote-capable tables equal the local run's; each skipped stage is named once"
    from test_reproduce import reproduce
    loc, rem = tmp_path/'local', tmp_path/'remote'
    reproduce(loc, '--only', 'data', '--only', 'locate', '--only', 'mechanism', '--only', 'transfer')
    times = reproduce(rem, '--remote', 'local')
    status = times.set_index('stage').status
    for s in STAGES:
        if s.mode == 'skip': assert status[s.stage] == 'skipped', (s.stage, status)
    compare_tables(loc/'data', rem/'data')


EXACT = ['pairs.jsonl', 'pairs_resample.jsonl', 'pairs_report.csv', 'locate_path.csv', 'locate_key_fraction.csv', 'locate_op_overlap.csv',
         'locate_knockout.csv', 'attention_shares.csv', 'key_head_roles.csv', 'mlp_cosines.csv', 'mlp_curve_points.csv',
         'logit_lens_top.csv', 'logit_lens_track.csv', 'transfer_home.csv', 'gsm8k_ranking.csv', 'gsm8k_overlap.csv']
CLOSE = ['locate_methods.csv', 'locate_agreement.csv', 'locate_faithfulness.csv', 'transfer.csv', 'transfer_drops.csv']

def compare_tables(loc:pathlib.Path, rem:pathlib.Path):
    "Byte-identical tables where the remote path computes the same way; else the remote rows equal the local ones to 1e-4"
    for f in EXACT: assert (loc/f).read_bytes() == (rem/f).read_bytes(), f
    for f in CLOSE:
        a, b = pd.read_csv(loc/f), pd.read_csv(rem/f)
        keys = [c for c in b.columns if not pd.api.types.is_float_dtype(b[c]) or c == 'k_percent']
        blank = lambda d: d.fillna({k: '' for k in keys if d[k].dtype == object})
        merged = blank(b).merge(blank(a), on=keys, how='left', suffixes=('', '_local'), indicator=True)
        assert len(merged) == len(b) and (merged._merge == 'both').all(), (f, merged[merged._merge != 'both'])
        for c in b.columns:
            if c not in keys:
                assert np.isclose(merged[c], merged[c + '_local'], rtol=1e-4, atol=1e-4, equal_nan=True).all(), (f, c)


# ---- issue 24: whether NDIF hosts a model is asked of the service when it can be reached ----
LIVE = {'deployments': {'a': {'repo_id': 'meta-llama/Llama-2-7b-hf', 'application_state': 'RUNNING', 'level': 'DEDICATED'}}}

def _info(capsys, monkeypatch, reachable:bool, status:dict):
    "`arith-interp info --model meta-llama/Llama-2-7b-hf --remote true` with NDIF's reachability and answer mocked (no network here)"
    import nnsight
    from arith_interp import ndif
    from arith_interp.cli import main
    from transformers import AutoConfig
    monkeypatch.setattr(ndif, 'ndif_reachable', lambda timeout=3.0: reachable)
    monkeypatch.setattr(nnsight, 'status', lambda raw=False: status)
    monkeypatch.setattr(ndif, 'model_config', lambda c: AutoConfig.for_model('llama') if isinstance(c, str) else c)
    assert main(['info', '--model', 'meta-llama/Llama-2-7b-hf', '--remote', 'true']) == 0
    return json.loads(capsys.readouterr().out)

def test_info_remote_asks_the_live_service(capsys, monkeypatch):
    from arith_interp.ndif import LIVE_SOURCE
    plan = _info(capsys, monkeypatch, True, LIVE)
    assert (plan['hosted'], plan['hosted_source']) == ('running dedicated', LIVE_SOURCE)
    assert plan['ndif'].startswith('NDIF hosts it') and '--remote true' in plan['ndif']
    gone = _info(capsys, monkeypatch, True, {'deployments': {}})               # the service no longer lists it
    assert (gone['hosted'], gone['hosted_source']) == (None, LIVE_SOURCE) and 'does not host it' in gone['ndif']

def test_info_remote_offline_falls_back_to_the_table(capsys, monkeypatch):
    from arith_interp.ndif import TABLE_SOURCE
    for reachable, status in ((False, LIVE), (True, {})):                        # offline; or the service does not answer
        plan = _info(capsys, monkeypatch, reachable, status)
        assert plan['hosted_source'] == TABLE_SOURCE and plan['hosted'].startswith('dedicated'), plan
