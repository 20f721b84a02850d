"Committed notebooks: small enough to review, and no stored output that changes between runs with the same seed."
import json, base64, pathlib
import pytest
from arith_interp.reproduce import output_text, volatile

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

@pytest.mark.parametrize('path', sorted((ROOT/'nbs').glob('9*.ipynb')), ids=lambda p: p.name)
def test_figure_shown_once(path):
    "A figure notebook with stored outputs shows its figure exactly once"
    assert not outputs(path) or len(png_sizes(path)) == 1, png_sizes(path)
