"The committed per-operation ranking (paper/data/locate_path.csv: one block per `op`) reaches sft, sft-study and knockout as exactly one block of distinct components; the selection study runs end to end on the tiny model."
import json, os, pathlib, warnings
import pandas as pd, pytest
from arith_interp.cli import main
ROOT = pathlib.Path(__file__).parents[1]
PATH_TABLE, ACT_TABLE = ROOT/'paper'/'data'/'locate_path.csv', ROOT/'paper'/'data'/'locate_methods.csv'

def test_the_committed_ranking_has_several_op_blocks():
    assert sorted(pd.read_csv(PATH_TABLE).op.unique()) == ['*', '+', '-', '/', 'all']   # the trap the 5-head study fell in

def test_sft_trains_ten_distinct_heads_from_the_per_op_table(capsys, tmp_path):
    argv = ['sft', '--model', 'smollm2-135m', '--components', str(PATH_TABLE), '--top-k', '10', '--mlps', '2', '--steps', '1',
            '--batch', '1', '--seq', '16', '--n-gsm8k', '0', '--n-arith', '2', '--out', str(tmp_path/'run')]
    with pytest.warns(UserWarning, match="using op='all'"): assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    summary, record = next(l for l in out if l.startswith('[sft] precise:')), json.loads(out[-1])
    heads = [c for c in record['components'] if '.h' in c]
    assert len(heads) == len(set(heads)) == 10 and len(record['components']) == 12, record['components']
    assert summary.startswith('[sft] precise: 12 components (') and f"{record['trainable_params']:,}" in summary
    info = json.loads((tmp_path/'run'/'adapter.json').read_text())
    assert info['trainable_params'] == record['trainable_params'] and len(info['components']) == 12

def test_sft_refuses_an_unknown_op_block(capsys, tmp_path):
    argv = ['sft', '--model', 'tiny', '--components', str(PATH_TABLE), '--top-k', '3', '--op', 'x', '--out', str(tmp_path/'r')]
    assert main(argv) == 2
    assert "--op 'x' is not in" in capsys.readouterr().err

def test_knockout_from_the_per_op_table_ablates_ten_distinct_heads(capsys, tmp_path):
    argv = ['knockout', '--model', 'smollm2-135m', '--pairs', str(ROOT/'paper'/'data'/'pairs.jsonl'), '--n', '4',
            '--from', str(PATH_TABLE), '--top-k', '10', '--op', 'all', '--random-draws', '1', '--out', str(tmp_path/'ko.json')]
    assert main(argv) == 0
    top = json.loads((tmp_path/'ko.json').read_text())['top']
    assert len(top) == len(set(top)) == 10, top

def test_sft_study_plans_distinct_parameter_matched_heads(capsys, monkeypatch):
    from arith_interp import study_select
    monkeypatch.setitem(study_select.SFT_BUDGETS, 'tiny', study_select.SFT_BUDGETS['tiny'].__class__(
        **{**study_select.SFT_BUDGETS['tiny'].__dict__, 'k_heads': 10, 'n_fisher': 1}))   # the committed k, one Fisher example
    with warnings.catch_warnings():
        warnings.simplefilter('error')   # --op all is explicit: no warning
        assert main(['sft-study', '--budget', 'tiny', '--model', 'smollm2-135m', '--ranking', str(PATH_TABLE),
                     '--act-ranking', str(ACT_TABLE), '--op', 'all', '--dry-run']) == 0
    out = capsys.readouterr().out
    plan = json.loads(out[out.index('{'):])
    for arm, heads in plan['heads'].items(): assert len(heads) == len(set(heads)) == 10, (arm, heads)
    assert plan['heads']['path'] == ['a20.h8', 'a23.h0', 'a17.h8', 'a27.h5', 'a18.h6', 'a21.h2', 'a19.h5', 'a20.h4', 'a16.h1',
                                     'a27.h3']   # the 'all' block's top 10, as paper/data/sft_components.csv lists them
    assert plan['head_params'] == 10 * 2 * 576 * 64 + 9 * 2 * 576 * 64   # q, o of 10 heads; k, v of their 9 KV groups
    assert abs(plan['lora_r'] * 115_200 / plan['head_params'] - 1) <= .05

def test_the_study_runs_and_publishes_on_the_tiny_model(tmp_path, capsys):
    "sft-study end to end on the tiny model (its own tiny rankings), resumed, then its tables and the two figure notebooks"
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    from arith_interp.models import tiny_model
    from arith_interp.study_select import head_fisher, study_sets, SFT_BUDGETS
    from arith_interp.study_tables import run_study, publish_study
    fi = head_fisher(tiny_model(), study_sets(SFT_BUDGETS['tiny'])['train'][:2], 32)
    rankings = {'path': fi.assign(score=fi.score[::-1].values), 'act': fi.sample(frac=1, random_state=1)}
    data = os.environ.get('ARITH_INTERP_DATA') or str(ROOT.parent/'shared'/'data')
    run_study(tmp_path/'study', tiny_model, rankings, 'tiny', data=data)
    publish_study(tmp_path/'study', tmp_path/'paper'/'data', model='tiny')
    os.environ['ARITH_INTERP_PAPER'] = str(tmp_path/'paper')
    try:
        for name in ('99c_fig_sft_select.ipynb', '99d_fig_sft_curves.ipynb'):
            nb = read_nb(ROOT/'nbs'/name)
            nb.cells = [c for c in nb.cells if c.cell_type != 'raw']   # run it although the committed study is unpublished
            CaptureShell(ROOT/'nbs'/name).run_all(nb, exc_stop=True)
    finally: del os.environ['ARITH_INTERP_PAPER']
    assert (tmp_path/'paper'/'figures'/'fig_sft_select.png').exists() and (tmp_path/'paper'/'figures'/'fig_sft_curves.png').exists()

def test_committed_tables_are_what_the_records_give(tmp_path):
    "publish_study and publish_neurons rebuild every committed sft_select / sft_neurons table from the run records"
    from arith_interp.study_tables import publish_study
    from arith_interp.study_neurons import publish_neurons
    study = ROOT/'paper'/'sft_select'
    written = publish_study(study, tmp_path, model='smollm2-135m')
    written += publish_neurons(study/'neurons', study, tmp_path, model='smollm2-135m')
    data = [p for p in written if p.suffix == '.csv']
    assert len(data) == 9
    for p in data: assert p.read_bytes() == (ROOT/'paper'/'data'/p.name).read_bytes(), p.name

def test_neuron_unit_refuses_before_the_head_study(tmp_path, capsys):
    argv = ['sft-study', '--budget', 'tiny', '--model', 'tiny', '--out', str(tmp_path/'none'), '--unit', 'neuron']
    assert main(argv) == 2
    assert "--unit 'neuron' runs after the head study" in capsys.readouterr().err
