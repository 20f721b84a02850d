"Committed notebooks: small enough to review, and no stored output that changes between runs with the same seed."
import json, base64, pathlib
import pandas as pd
import pytest
from arith_interp.runner import output_text, volatile, timing_line, _last_line

ROOT = pathlib.Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT/'nbs').glob('*.ipynb'))
NOTEBOOK_BUDGET = 300_000       # bytes per notebook file
FIGURE_BUDGET = 150_000         # bytes per stored PNG

def outputs(path:pathlib.Path)->list[dict]:
    cells = json.loads(path.read_text())['cells']
    return [o for c in cells if c['cell_type'] == 'code' for o in c.get('outputs', [])]

def png_sizes(path:pathlib.Path)->list[int]:
    return [len(base64.b64decode(''.join(o['data']['image/png']))) for o in outputs(path) if 'image/png' in o.get('data', {})]

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_size_budget(path):
    assert path.stat().st_size <= NOTEBOOK_BUDGET, f'{path.name}: {path.stat().st_size} bytes'
    assert all(s <= FIGURE_BUDGET for s in png_sizes(path)), (path.name, png_sizes(path))

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_no_volatile_output(path):
    outs = outputs(path)
    assert not [o for o in outs if o.get('name') == 'stderr'], 'stderr (warnings, progress bars) stored'
    assert not [o for o in outs if o.get('output_type') == 'error'], 'a stored error'
    assert not [o for o in outs if o.get('execution_count')], 'execution counts stored: run nbdev_clean'
    found = [v for o in outs for v in volatile(output_text(o))]
    assert not found, f'addresses, timings or progress bars in stored outputs: {found[:5]}'

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_timings(path):
    "A cell that shows only timings (`secs, cpu`) stores no output: its value differs every run (`runner.timing_line`)"
    cells = [c for c in json.loads(path.read_text())['cells'] if c['cell_type'] == 'code']
    shown = [_last_line(c) for c in cells if c.get('outputs') and timing_line(_last_line(c))]
    assert not shown, f'timings stored: {shown}'

@pytest.mark.parametrize('path', sorted((ROOT/'nbs').glob('9*.ipynb')), ids=lambda p: p.name)
def test_figure_shown_once(path):
    "A figure notebook with stored outputs shows its figure exactly once"
    assert not outputs(path) or len(png_sizes(path)) == 1, png_sizes(path)

# ---- issue 24: what a stored notebook shows is true on any machine --------------------------------------------
import re, os
_MACHINE = re.compile(r"(?<![\w.])(?:/(?:home|root|work|tmp|Users|mnt|srv|opt|var|private)/[^\s'\"]*|~/[^\s'\"]+)")
_TRUNCATED = re.compile(r'\[\d+ rows x \d+ columns\]|\S  \.\.\.  \S|^\.\.\.\s*$', re.M)

def machine_paths(text:str)->list[str]:
    "Absolute or home paths in `text` (this machine's home and checkout included, whatever they are)"
    found = _MACHINE.findall(text)
    return found + [p for p in (str(pathlib.Path.home()), str(ROOT)) if p in text and len(p) > 1 and p not in found]

def test_machine_paths_detector():
    assert machine_paths("Path('/work/main/paper/data/x.csv')") and machine_paths('see ~/.cache/arith_interp')
    assert not machine_paths("'paper/data/x.csv' and 1/2 and a/b") and not machine_paths('http://x.org/work/y')

def test_truncation_detector():
    cut = pd.DataFrame([range(30)], columns=[f'column_{i}' for i in range(30)])
    assert _TRUNCATED.search(repr(cut)) and not _TRUNCATED.search(repr(cut.iloc[:, :3]))

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_paths_in_outputs(path):
    found = [m for o in outputs(path) for m in machine_paths(output_text(o))]
    assert not found, f'absolute or home paths in stored outputs: {found[:5]}'

def test_no_machine_paths_in_written_metadata():
    files = [*(ROOT/'paper'/'data').glob('*.meta.json'), ROOT/'paper'/'REPORT.md', *(ROOT/'benchmarks').glob('*.json')]
    found = {f.name: machine_paths(f.read_text()) for f in files}
    assert not {k: v for k, v in found.items() if v}, found

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_no_truncated_tables(path):
    cut = [output_text(o)[:200] for o in outputs(path) if _TRUNCATED.search(''.join(o.get('data', {}).get('text/plain', '')))]
    assert not cut, f'a stored table is cut by pandas (run it with core.wide_tables()): {cut[:2]}'

def _colour_claims(path)->list[tuple[str, str]]:
    "(colour, meaning) pairs a figure notebook's markdown states, e.g. ('blue', 'the head supports the answer')"
    text = ' '.join(''.join(c['source']) for c in json.loads(path.read_text())['cells'] if c['cell_type'] == 'markdown')
    return re.findall(r'\b(blue|red)\b\s*(?:\([^)]*\))?\s*[=:]\s*([^.;,)]+)', text, re.I)

@pytest.mark.parametrize('path', sorted((ROOT/'nbs').glob('9*.ipynb')), ids=lambda p: p.name)
def test_figure_captions_match_the_colour_map(path):
    "A caption that says which colour supports the answer says what the colour map draws (negative = supports)"
    from arith_interp.plotting import sign_colour, sign_caption
    for colour, meaning in _colour_claims(path):
        supports = bool(re.search(r'support|help|negative', meaning, re.I))
        assert colour.lower() == sign_colour(-1 if supports else 1), (path.name, colour, meaning)
    if 'plot_head_heatmap(' in path.read_text() and outputs(path):
        assert any(sign_caption() in output_text(o) for o in outputs(path)), 'the colour key is not shown from the map'

def test_caption_check_catches_the_old_heatmap_caption(tmp_path):
    from arith_interp.plotting import sign_colour
    old = tmp_path/'90.ipynb'
    old.write_text(json.dumps({'cells': [{'cell_type': 'markdown', 'source': ['one panel per operation; blue = the head supports the answer.']}]}))
    (colour, meaning), = _colour_claims(old)
    assert (colour, sign_colour(-1, 'RdBu')) == ('blue', 'red')           # the map it drew with said red
