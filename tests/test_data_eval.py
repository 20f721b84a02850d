"Tests of arith_interp.data / benchmarks / evaluation that notebooks cannot show: the CLI entry points end to end (tiny model)."
import json, os
from pathlib import Path
import pytest
from arith_interp.core import proj_root
from arith_interp.data import cli_data, read_jsonl, encode_pairs, make_pairs, tok_ids
from arith_interp.models import digit_tokenizer
from arith_interp.evaluation import cli_evaluate, extract_number, wilson
from arith_interp.benchmarks import load_benchmark, gsm8k_answer

DATA = os.environ.get('ARITH_INTERP_DATA') or str(Path(proj_root()).parent/'shared'/'data')
needs_data = pytest.mark.skipif(not Path(DATA).is_dir(), reason=f'no shared data at {DATA}')

def test_cli_data_writes_same_length_pairs(tmp_path):
    out = tmp_path/'pairs.jsonl'
    assert cli_data(['--model', 'tiny', '--ops', '+', '-', '*', '/', '--styles', 'all', '--n', '60', '--seed', '3',
                     '--counterfactual', 'resample', '--out', str(out)]) == 0
    recs = read_jsonl(out)
    assert len(recs) == 60 and {r['op'] for r in recs} == {'+', '-', '*', '/'}
    tk = digit_tokenizer()
    assert all(len(tok_ids(tk, r['clean'])) == len(tok_ids(tk, r['corrupt'])) for r in recs)
    assert all(r['answer'] != r['corrupt_answer'] for r in recs)
    b = encode_pairs(tk, recs)
    assert b.clean.shape == b.corrupt.shape == b.mask.shape
    assert json.loads((tmp_path/'pairs.jsonl.report.json').read_text())['records'] == 60

def test_cli_data_filter_reports_reasons(tmp_path):
    out = tmp_path/'kept.jsonl'
    assert cli_data(['--model', 'tiny', '--ops', '+', '--styles', 'equation', '--n', '20', '--filter', '--out', str(out)]) == 0
    rep = json.loads((tmp_path/'kept.jsonl.report.json').read_text())['report']
    assert rep['total'] == 20 and rep['kept'] + rep['wrong_answer'] + rep['multi_token_answer'] + rep['length_mismatch'] == 20
    assert len(read_jsonl(out)) == rep['kept']

def test_generation_is_seeded():
    tk = digit_tokenizer()
    assert make_pairs(tk, n=30, seed=5) == make_pairs(tk, n=30, seed=5) != make_pairs(tk, n=30, seed=6)

@needs_data
def test_cli_evaluate_tiny(tmp_path):
    out = tmp_path/'r.json'
    assert cli_evaluate(['--model', 'tiny', '--suite', 'arith', 'general', 'math', '--limit', '2', '--max-new-tokens', '2',
                         '--k-shot', '1', '--data', DATA, '--out', str(out)]) == 0
    j = json.loads(out.read_text())
    assert {r['suite'] for r in j['rows']} == {'arith', 'math', 'general'}
    assert all(0 <= r['lo'] <= r['value'] <= r['hi'] <= 1 for r in j['rows'] if r['metric'] == 'accuracy')
    assert (tmp_path/'r.gsm8k.jsonl').exists()

@needs_data
def test_extract_number_on_real_gsm8k():
    items = load_benchmark('gsm8k', 'train', DATA, limit=2000)
    assert all(extract_number(it['solution']) == it['answer'] for it in items)

def test_wilson_edges():
    assert wilson(0, 0) != wilson(0, 0)                   # nan for n = 0
    lo, hi = wilson(10, 10); assert hi == pytest.approx(1.0) and 0.69 < lo < 0.73

@needs_data
def test_shared_prefix_loglik_matches_whole_sequences():
    "The shared-prefix scorer (local) gives the whole-sequence nnsight scorer's log-likelihoods on every general set"
    from arith_interp.models import tiny_model
    from arith_interp.benchmarks import GENERAL
    from arith_interp.evaluation import choice_logprobs
    tm = tiny_model()
    for name in GENERAL:
        items = load_benchmark(name, 'test', DATA, limit=3)
        cached, whole = choice_logprobs(tm, items, batch_size=4), choice_logprobs(tm, items, batch_size=4, remote='local')
        assert [len(c) for c in cached] == [len(it['contexts']) for it in items]
        assert max(abs(a - b) for c, w in zip(cached, whole) for a, b in zip(c, w)) < 1e-4, name
