"The committed paper/: one run made every table, every listed figure exists, and the README quotes numbers only from the report."
import re, json, pathlib
import pandas as pd
ROOT = pathlib.Path(__file__).parents[1]
PAPER = ROOT/'paper'
FIGURES = ['fig_circuit', 'fig_head_heatmap', 'fig_mlp_bars', 'fig_knockout', 'fig_attention', 'fig_op_overlap', 'fig_mlp_cosine', 'fig_logit_lens',
           'fig_transfer', 'fig_lrp_agreement', 'fig_faithfulness', 'fig_sft_table', 'fig_sft_ablation', 'fig_benchmarks', 'fig_neurons', 'fig_cf_types']   # reproduce's stages
STUDY_FIGURES = ['fig_sft_select', 'fig_sft_curves']   # from the published Precise SFT selection study (`arith-interp sft-study --publish`)
STUDY = tuple(n.removesuffix('.gz').removesuffix('.csv') + '.meta.json' for n in
              ('sft_select.csv', 'sft_select_contrasts.csv', 'sft_select_components.csv', 'sft_select_predictions.csv.gz',
               'sft_select_lr.csv', 'sft_select_graft.csv', 'sft_select_curves.csv'))   # `arith-interp sft-study --publish`
NEURON_STUDY = ('sft_neurons.meta.json', 'sft_neurons_contrasts.meta.json', 'sft_neurons_components.meta.json')
# `arith-interp sft-study --unit neuron --publish`: the neuron-level arms, run after the head study on its settings
STUDY_NOTEBOOKS = ('99c_fig_sft_select.ipynb', '99d_fig_sft_curves.ipynb')

def published()->bool: return (PAPER/'data'/'sft_select.csv').exists()

def metas(): return {p.name: json.loads(p.read_text()) for p in sorted((PAPER/'data').glob('*.meta.json'))}
def is_reference(m:dict)->bool: return 'source' in m and 'model' not in m     # the paper's own numbers, not a run of ours

def test_every_table_has_provenance():
    tables = sorted(p.name for p in (PAPER/'data').glob('*.csv'))
    missing = [t for t in tables if not (PAPER/'data'/t.replace('.csv', '.meta.json')).exists()]
    assert not missing, missing
    for name, m in metas().items():
        assert is_reference(m) or {'model', 'seed', 'versions'} <= set(m), name

def test_one_model_one_seed_one_budget():
    "Tables written by the study's stages come from the same run settings (benchmarks.csv tabulates separately run benchmarks)"
    # baseline_fewshot is reused across runs by design (20a_baseline recomputes it only with `full` or when missing)
    reused = ('baseline_fewshot.meta.json',)
    stages = {n: m for n, m in metas().items() if n not in STUDY + NEURON_STUDY + reused}
    settings = {(m['model'], m['seed'], json.dumps(m.get('budget'), sort_keys=True)) for n, m in stages.items() if m.get('budget') is not None}
    assert len(settings) == 1, settings
    no_budget = [n for n, m in stages.items() if m.get('budget') is None and not is_reference(m)]
    assert not no_budget, f'tables without the run budget (written outside `arith-interp reproduce`): {no_budget}'

def test_the_published_sft_study():
    "The selection study's tables: all or none; when published, one budget (select-cpu) and the stages' model and seed"
    study = {n: m for n, m in metas().items() if n in STUDY}
    if not published():
        assert not study, f'part of the selection study is published: {sorted(study)}'
        return
    assert sorted(study) == sorted(STUDY), sorted(study)
    stage_model = {(m['model'], m['seed']) for n, m in metas().items()
                   if n not in STUDY + NEURON_STUDY and m.get('budget') is not None}
    neurons = {n: m for n, m in metas().items() if n in NEURON_STUDY}
    assert not neurons or sorted(neurons) == sorted(NEURON_STUDY), sorted(neurons)
    assert {(m['model'], m['seed']) for m in [*study.values(), *neurons.values()]} == stage_model
    assert {m['budget']['name'] for m in [*study.values(), *neurons.values()]} == {'select-cpu'}

def test_study_figure_notebooks_run_once_published():
    "99c/99d are skipped by nbdev_test (front matter skip_exec) exactly while the study's tables are not published"
    for name in STUDY_NOTEBOOKS:
        nb = json.loads((ROOT/'nbs'/name).read_text())
        first = ''.join(nb['cells'][0]['source']) if nb['cells'][0]['cell_type'] == 'raw' else ''
        assert ('skip_exec: true' in first) == (not published()), name

def test_no_study_from_the_five_head_table():
    "The 5-head study read a multi-operation ranking as one: its tables and figures are gone from paper/"
    old = [p.name for p in (PAPER/'data').glob('sft_study*')] + [p.name for p in (PAPER/'figures').glob('fig_sft_tradeoff*')]
    assert not old, old

def test_every_figure_and_the_report():
    figures = FIGURES + (STUDY_FIGURES if published() else [])
    for f in figures:
        assert (PAPER/'figures'/f'{f}.png').exists() and (PAPER/'figures'/f'{f}.pdf').exists(), f
    rows = (PAPER/'REPORT.md').read_text().split('| topic |')[1].splitlines()
    not_run = [r for r in rows if '**not run**' in r]
    assert all('missing: sft_' in r for r in not_run) and (published() or not_run), not_run   # only the unpublished study
    for f in figures: assert f'figures/{f}.png' in (PAPER/'REPORT.md').read_text(), f

def test_stage_times_recorded():
    t = pd.read_csv(PAPER/'stage_times.csv')
    assert t.stage.iloc[-1] == 'total' and {'data', 'locate', 'sft', 'transfer', 'figures', 'report'} <= set(t.stage)

def _block(text:str)->str:
    m = re.search(r'<!-- numbers from paper/REPORT.md -->(.*?)<!-- end -->', text, re.S)
    assert m, 'README lost its marked results block'
    return m[1]

def test_readme_quotes_the_report():
    "Every number in the README's results block appears in paper/REPORT.md (so it cannot drift from the tables)"
    report = (PAPER/'REPORT.md').read_text()
    nums = re.findall(r'(?<![\w.])-?\d+(?:\.\d+)?%?', _block((ROOT/'README.md').read_text()))
    assert nums
    assert not [n for n in nums if n not in report], [n for n in nums if n not in report]

def test_readme_baseline_table_matches_baseline_csv():
    b = pd.read_csv(PAPER/'data'/'baseline.csv'); b = b[b.metric == 'accuracy'].set_index(['suite', 'dataset'])
    b = b[~b.index.get_level_values('dataset').str.contains('equation|question|statement')]     # the README skips per-template rows
    rows = re.findall(r'^\| (arith|math|general) \| ([\w-]+) \| ([\d.]+) \[([\d.]+), ([\d.]+)\] \| (\d+) \|$', (ROOT/'README.md').read_text(), re.M)
    assert sorted((s, d) for s, d, *_ in rows) == sorted(b.index), 'README baseline rows differ from baseline.csv'
    for suite, ds, v, lo, hi, n in rows:
        r = b.loc[(suite, ds)]
        assert (f'{r.value:.2f}', f'{r.lo:.2f}', f'{r.hi:.2f}', int(r.n)) == (v, lo, hi, int(n)), (suite, ds)

def test_readme_states_the_measured_stage_time():
    total = pd.read_csv(PAPER/'stage_times.csv').set_index('stage').seconds['total']
    quick = pd.read_csv(PAPER/'stage_times_quick.csv').set_index('stage').seconds['total']
    readme = (ROOT/'README.md').read_text()
    assert f'{total:.0f} s of stage time' in readme and f'`--quick` {quick:.0f} s' in readme
    # the budgets (default < 30 min, quick < 5 min) are targets, not tests: the README says whether each measured time meets its target
    assert ('over its 5-minute target' in readme) == (quick >= 5 * 60) and ('over its 30-minute target' in readme) == (total >= 30 * 60)
