"""README.md from nbs/index.ipynb, as `nbdev_readme` makes it (Quarto, which that needs, is not installable offline).

Markdown cells as they are (links to `../` made relative to the project root); code cells as fenced blocks followed by
their stored outputs; a `#| echo: false` cell shows only its output (markdown outputs verbatim), a `#| hide` cell nothing.
Usage: `python tools/readme.py` writes README.md; `--check` fails if it differs; `--execute` re-runs index.ipynb first.
"""
import sys, json, pathlib, argparse

ROOT = pathlib.Path(__file__).resolve().parents[1]
INDEX, README = ROOT/'nbs'/'index.ipynb', ROOT/'README.md'

def directives(source:str)->dict:
    "The `#| key: value` lines at the top of a cell, as {key: value} (a bare flag maps to '')"
    out = {}
    for line in source.splitlines():
        if not line.startswith('#|'): break
        key, _, value = line[2:].strip().partition(':')
        out[key.strip()] = value.strip()
    return out

def body(source:str)->str:
    "A cell's source without its directive lines"
    lines = source.splitlines()
    return '\n'.join(l for i, l in enumerate(lines) if not (l.startswith('#|') and all(m.startswith('#|') for m in lines[:i]))).strip()

def output_markdown(out:dict)->str|None:
    "An output as markdown: markdown verbatim, text in a plain fence; images and errors left out"
    data = out.get('data', {})
    if 'text/markdown' in data: return ''.join(data['text/markdown']).strip()
    if out.get('output_type') == 'stream' and out.get('name') == 'stdout': return '```\n' + ''.join(out['text']).rstrip() + '\n```'
    if 'text/plain' in data and not data.keys() & {'image/png', 'text/html'}: return '```\n' + ''.join(data['text/plain']).rstrip() + '\n```'
    return None

def cell_markdown(cell:dict)->list[str]:
    "The README parts of one notebook cell"
    source = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown': return [source.replace('](../', '](').strip()]
    d = directives(source)
    if 'hide' in d or d.get('include') == 'false': return []
    parts = [] if d.get('echo') == 'false' else ['```python\n' + body(source) + '\n```']
    return parts + [m for m in map(output_markdown, cell.get('outputs', [])) if m]

def readme(index:pathlib.Path=INDEX)->str:
    "The README text for notebook `index`"
    cells = json.loads(pathlib.Path(index).read_text())['cells']
    return '\n\n'.join(p for c in cells for p in cell_markdown(c)) + '\n'

def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='fail if README.md differs from what index.ipynb gives')
    p.add_argument('--execute', action='store_true', help='re-run nbs/index.ipynb (storing its outputs) first')
    a = p.parse_args(argv)
    if a.execute:
        from arith_interp.runner import run_notebooks
        run_notebooks([INDEX], save_to=INDEX.parent)
    if a.check: return 0 if README.read_text() == readme() else print('README.md differs from nbs/index.ipynb: run python tools/readme.py') or 1
    README.write_text(readme())
    return 0

if __name__ == '__main__': sys.exit(main())
