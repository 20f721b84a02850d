"Project layout rules (the README's toolchain notes and nbs/19a_layout.ipynb): numbered notebooks, one module each, imports only downward, size caps."
import re, json, pathlib, configparser
import pytest
from arith_interp.layout import import_graph, layering_errors, layer_of, LAYERS
ROOT = pathlib.Path(__file__).parents[1]
NBS = sorted((ROOT/'nbs').glob('[0-9][0-9]*.ipynb'))

def default_exp(nb):
    for c in json.loads(nb.read_text())['cells']:
        m = re.search(r'#\|\s*default_exp\s+(\S+)', ''.join(c['source']))
        if m: return m[1]

def test_top_level():
    for p in ['nbs', 'arith_interp', 'settings.ini', 'paper', 'tests', 'environment.yml', 'setup.py', 'README.md', '.ci/run']:
        assert (ROOT/p).exists(), p

def test_pins():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    reqs = cfg['DEFAULT']['requirements'] + ' ' + cfg['DEFAULT']['dev_requirements']
    for pin in ['torch==2.13.0', 'nbdev==2.4.14', 'fastcore>=1.12.3,<2', 'execnb>=0.1.12,<0.2', 'transformers==5.24.0', 'nnsight==0.8.1']:
        assert pin in reqs, pin

def test_library_notebooks_export_one_module_each():
    mods = {nb.name: default_exp(nb) for nb in NBS if int(nb.name[:2]) < 20}
    assert all(mods.values()), [k for k, v in mods.items() if not v]
    assert len(set(mods.values())) == len(mods)
    for m in mods.values(): assert (ROOT/'arith_interp'/f'{m}.py').exists(), m

def test_experiment_and_figure_notebooks_export_nothing():
    assert not [nb.name for nb in NBS if int(nb.name[:2]) >= 20 and default_exp(nb)]

def test_imports_only_go_downward():
    "No cycle and no upward reference (relative/absolute imports, importlib calls, module-name strings) in the package"
    errors = layering_errors(import_graph(ROOT/'arith_interp'), LAYERS)
    assert not errors, '\n'.join(errors)

def test_every_library_module_has_a_layer():
    mods = {default_exp(nb) for nb in NBS if int(nb.name[:2]) < 20}
    assert mods <= set(layer_of(LAYERS)) | {'cli'}, mods - set(layer_of(LAYERS))

def test_layering_check_fails_on_a_planted_cycle(tmp_path):
    pkg = tmp_path/'pkg'
    pkg.mkdir()
    (pkg/'low.py').write_text('import importlib\ndef f(): return importlib.import_module("pkg.high")\n')
    (pkg/'high.py').write_text('from .low import f\n')
    errors = layering_errors(import_graph(pkg), ['low', 'high'])
    assert errors == ['cycle: high -> low -> high', 'upward: low (layer 0) reaches high (layer 1) at line 2 (importlib)']

def test_notebook_size_caps():
    big = [nb.name for nb in NBS if nb.stat().st_size > 300_000]
    assert not big, big

def test_tests_cite_only_files_in_the_repository():
    "A test that cites a document (e.g. a style guide) cites one a reader of this repository can open (issue 24: a style guide outside the repository was cited)"
    cited = {(t.name, m) for t in (ROOT/'tests').glob('*.py') for m in re.findall(r'\b[\w.-]+\.md\b', t.read_text())}
    present = {p.name for p in ROOT.rglob('*.md') if '.git' not in p.parts}
    assert not [(t, m) for t, m in cited if m not in present], sorted(cited)

# Every module of the package keeps the style caps (issue 25): `python tools/style_check.py` reports the offenders.
STYLED = sorted(p.stem for p in (ROOT/'arith_interp').glob('*.py') if not p.stem.startswith('_'))

def style_errors(source:str)->list[str]:
    "`;`-joined statements, lines over 120 characters (nbdev's generated `__all__` line: 130), functions over 40 lines"
    import sys
    sys.path.insert(0, str(ROOT/'tools'))
    from style_check import style_errors
    return style_errors(source)

@pytest.mark.parametrize('module', STYLED)
def test_style_caps(module):
    errors = style_errors((ROOT/'arith_interp'/f'{module}.py').read_text())
    assert not errors, '\n'.join(errors)

def test_style_check_catches_each_cap():
    long_fn = 'def f():\n' + '    x = 1\n' * 40
    assert style_errors('a = 1; b = 2\n' + 'c = "' + 'x' * 120 + '"\n' + long_fn) == [
        'line 1: ;', 'line 2: 126 characters', 'line 3: f has 41 lines']
    assert style_errors('__all__ = [' + "'x', " * 23 + ']\ns = "a;b"  # a;b\n') == []
    assert style_errors('__all__ = [' + "'x', " * 25 + ']\n') == ['line 1: 137 characters']   # nbdev wraps at 120 + prefix
    assert style_errors('def g():\n' + '    x = 1\n' * 39) == []                            # exactly 40 lines
