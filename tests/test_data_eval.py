"Tests of arith_interp.data / benchmarks / evaluation that notebooks cannot show: the CLI entry points end to end (tiny model)."
import json, os
from pathlib import Path
import pytest
from arith_interp.core import proj_root
from arith_interp.cli import cli_data, cli_evaluate
from arith_interp.data import read_jsonl, encode_pairs, make_pairs, tok_ids
from arith_interp.models import digit_tokenizer
from arith_interp.evaluation import extract_number, wilson
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
    if rep['kept']:
        assert len(read_jsonl(out)) == rep['kept']
    else:                                           # the random tiny model may get none right: an empty file, named
        with pytest.raises(ValueError, match='kept.jsonl: no records'):
            read_jsonl(out)

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

def test_bring_your_own_pairs_need_only_clean_corrupt_answer(tmp_path):
    from arith_interp.data import write_jsonl, needed_fields
    from arith_interp.models import tiny_model
    from arith_interp.ranking import locate
    tk = digit_tokenizer()
    mine = [{k: r[k] for k in ('clean', 'corrupt', 'answer')} for r in make_pairs(tk, ops=['+'], n=6, seed=0)]
    path = write_jsonl(mine, tmp_path/'mine.jsonl')
    recs = read_jsonl(path)                                   # no op/template/style/variant/corrupt_answer
    assert recs == mine
    tab = locate(tiny_model(), encode_pairs(tk, recs), 'path', 'logit')
    assert len(tab) and tab.score.notna().all()
    with pytest.raises(ValueError, match=r"mine.jsonl:1: missing field\(s\) \['corrupt_answer'\]"):
        read_jsonl(path, needs=needed_fields('logit_diff'))

def test_empty_pairs_file_is_named(tmp_path):
    empty = tmp_path/'empty.jsonl'
    empty.write_text('')
    with pytest.raises(ValueError, match=r'empty.jsonl: no records \(the file is empty\)'):
        read_jsonl(empty)

def test_written_files_get_the_umask_mode_not_0600(tmp_path):
    from arith_interp.core import save_table, save_json
    import pandas as pd
    old = os.umask(0o022)
    try:
        paths = [save_json({'a': 1}, tmp_path/'a.json'), save_table(pd.DataFrame({'x': [1]}), tmp_path/'t.csv')]
        assert cli_data(['--model', 'tiny', '--ops', '+', '--n', '3', '--out', str(tmp_path/'p.jsonl')]) == 0
        paths += [tmp_path/'p.jsonl', tmp_path/'t.meta.json']
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in paths} == {'0o644'}
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
