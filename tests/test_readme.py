"README.md is generated from nbs/index.ipynb (tools/readme.py), and the landing page holds what the issue asks of it."
import sys, json, pathlib
ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from readme import readme, directives, body

def test_readme_is_generated_from_index():
    assert (ROOT/'README.md').read_text() == readme(), 'README.md differs from nbs/index.ipynb: run `python tools/readme.py`'

def test_landing_page_sections():
    text = readme()
    for heading in ('## Two commands on a fresh machine', '## Results on the embedded SmolLM2-135M', '## On a GPU', '## On NDIF'):
        assert heading in text, heading
    assert '![' in text and 'paper/figures/fig_head_heatmap.png' in text           # the main figure
    assert 'meta-llama/Llama-3.1-8B' in text and 'meta-llama/Llama-3.1-70B' in text  # what NDIF hosts

def test_index_outputs_are_stored():
    "The generated parts (baseline table, stage times) come from stored outputs of index.ipynb's cells"
    cells = json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells']
    shown = [c for c in cells if c['cell_type'] == 'code' and c['outputs']]
    assert len(shown) >= 2

def test_directives_and_body():
    assert directives('#| echo: false\n#| hide\nx = 1') == {'echo': 'false', 'hide': ''}
    assert body('#| echo: false\nx = 1\n#| not a directive') == 'x = 1\n#| not a directive'

def test_ndif_section_matches_the_live_or_table_behaviour():
    "The NDIF section says how the answer is found (live, else the table, with its source) and how to run the paper's model there"
    from arith_interp.ndif import HOSTED, hosted_source, TABLE_SOURCE
    ndif = readme().split('## On NDIF')[1].split('\n## ')[0]
    assert 'hosted_source' in ndif and 'nnsight.status()' in ndif and 'offline' in ndif
    assert 'arith-interp reproduce --model meta-llama/Llama-2-7b-hf --remote true' in ndif
    assert 'runs on a local GPU only: NDIF does not host it' not in readme()   # the old, hand-written claim
    assert ('meta-llama/Llama-2-7b-hf' in HOSTED) == ('the package\'s offline table says so too' in ndif)
    assert hosted_source('meta-llama/Llama-2-7b-hf', live=False) == (HOSTED['meta-llama/Llama-2-7b-hf'], TABLE_SOURCE)
