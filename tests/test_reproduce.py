"The main job end to end on the embedded SmolLM2 at the quick budget: every stage, figure and the report; same seed, same bytes."
import os, subprocess, sys, pathlib
import pandas as pd
import pytest
from arith_interp.core import file_sha256
from test_paper import FIGURES
ROOT = pathlib.Path(__file__).parents[1]
DATA = os.environ.get('ARITH_INTERP_DATA', str(ROOT.parent/'shared'/'data'))

def reproduce(out, *args):
    r = subprocess.run([sys.executable, '-c', 'import sys; from arith_interp.cli import main; sys.exit(main(sys.argv[1:]))',
                        'reproduce', '--quick', '--out', str(out), *args], cwd=ROOT,
                       env={**os.environ, 'ARITH_INTERP_DATA': DATA}, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return pd.read_csv(pathlib.Path(out)/'stage_times.csv')

def digests(d:pathlib.Path, names)->dict: return {n: file_sha256(d/'data'/n) for n in names}

@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp('paper')
    return out, reproduce(out)

def test_quick_run_writes_every_table_figure_and_the_report(quick):
    out, times = quick
    assert list(times.status[:-1]) == ['ran'] * (len(times) - 1)
    for f in FIGURES: assert (out/'figures'/f'{f}.png').exists(), f
    report = (out/'REPORT.md').read_text()
    not_run = [line for line in report.splitlines() if '| **not run** |' in line]
    assert all('missing: sft_' in line for line in not_run), not_run   # only the separately published Precise SFT studies (heads, neurons)
    assert all((out/'data'/t).exists() for t in ['pairs.jsonl', 'locate_path.csv', 'locate_knockout.csv', 'lrp_scores.csv', 'sft_methods.csv', 'transfer_drops.csv'])

def test_same_seed_same_bytes_and_dependents_stay_cached(quick):
    "Recomputing the data and locate stages writes byte-identical tables, so every stage that reads them stays cached"
    out, _ = quick
    names = ['pairs.jsonl', 'pairs_resample.jsonl', 'locate_path.csv', 'locate_methods.csv', 'locate_knockout.csv', 'locate_faithfulness.csv']
    before = digests(out, names)
    times = reproduce(out, '--force', 'data', '--force', 'locate').set_index('stage').status
    assert digests(out, names) == before
    assert times['data'] == times['locate'] == 'ran'
    assert (times.drop(['data', 'locate', 'total']) == 'cached').all(), times
