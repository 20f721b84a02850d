"""Build the documentation site into _docs/: `nbdev_docs` (Quarto) where Quarto is installed, else pandoc (Debian's `pandoc`).

Quarto has no binary on the package index (PyPI's `quarto-cli` downloads it at install time, which fails offline), so CI
builds with pandoc: nbdev's own processing (`_proc/`: `show_doc` cells rendered as docments tables, `#| hide` and
`#| echo: false` applied), then one HTML page per notebook with the sidebar of `nbs/sidebar.yml` (Library / Study /
Figures), and `paper/REPORT.md` as `report.html`. Usage: `python tools/site.py [--quarto|--pandoc]`; check with
`python tools/check_site.py`.
"""
import os, re, ast, sys, html, json, shutil, argparse, warnings, subprocess, pathlib
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NBS, PROC, DOCS, PAPER = ROOT/'nbs', ROOT/'_proc', ROOT/'_docs', ROOT/'paper'
CSS = """body{font-family:system-ui,sans-serif;margin:0;display:flex;color:#222}
nav{width:15rem;min-width:15rem;height:100vh;overflow-y:auto;position:sticky;top:0;background:#f6f7f9;padding:1rem;font-size:.85rem;box-sizing:border-box}
nav h4{margin:1rem 0 .3rem;text-transform:uppercase;font-size:.75rem;color:#666} nav a{display:block;padding:.15rem 0;color:#1f4e8c;text-decoration:none}
nav a.here{font-weight:bold} main{padding:1.5rem 2.5rem;max-width:62rem;min-width:0} img{max-width:100%}
pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;font-size:.8rem} table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem} blockquote{color:#555;border-left:3px solid #ccc;margin-left:0;padding-left:1rem}
"""

def sidebar_entries()->list[tuple[str, list[str]]]:
    "The sidebar of nbs/sidebar.yml as (section, [files]); top-level files under section ''"
    contents = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
    top = [c for c in contents if isinstance(c, str)]
    return [('', top)] + [(c['section'], c['contents']) for c in contents if isinstance(c, dict)]

def page_name(src:str)->str: return pathlib.Path(src).stem + '.html'

def title_of(nb:pathlib.Path)->str:
    "A notebook's title: its first `# heading`"
    for c in json.loads(nb.read_text())['cells']:
        m = re.search(r'^# (.+)$', ''.join(c['source']), re.M)
        if c['cell_type'] == 'markdown' and m: return m[1].strip()
    return nb.stem

def sidebar_html(here:str, titles:dict)->str:
    "The navigation column, with the current page marked"
    parts = ['<nav>']
    for section, files in sidebar_entries():
        if section: parts.append(f'<h4>{html.escape(section)}</h4>')
        parts += [f'<a href="{page_name(f)}"{" class=here" if page_name(f) == here else ""}>{html.escape(titles.get(f, f))}</a>' for f in files]
    return '\n'.join(parts + ['</nav>'])

def _statements(trees)->list:
    return [n for t in trees for n in (t.body if isinstance(t, ast.Module) else [t])]

def imports_only_eval():
    "Make nbdev's docs build run a cell with imports only if imports are all it holds (test code beside them needs earlier cells)"
    import nbdev.processors as procs
    nbdev_eval = getattr(procs._do_eval, 'nbdev_eval_', procs._do_eval)
    def _do_eval(cell):
        if not nbdev_eval(cell): return False
        if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} or procs._show_docs(cell.parsed_()): return True
        return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in _statements(cell.parsed_()))
    _do_eval.nbdev_eval_ = nbdev_eval
    procs._do_eval = _do_eval

def process_notebooks()->list[str]:
    "nbdev's docs processing of every notebook into _proc/; returns the names that failed"
    from nbdev.serve import _proc_file
    from nbdev.serve_drv import main
    from nbdev.doclinks import _build_modidx
    _build_modidx()
    imports_only_eval()
    docments_tables()
    warnings.filterwarnings('ignore', message='Found cells containing imports')
    failed = []
    for nb in sorted(NBS.glob('*.ipynb')):
        job = _proc_file(nb, PROC, NBS)
        if job is None: continue
        try: main(job)
        except Exception as e: failed.append(f'{nb.name}: {str(e).splitlines()[0]}')
    return failed

def fix_links(text:str)->str:
    "Links as the site lays files out: notebooks -> pages, ../paper/figures -> figures/, the report -> report.html"
    text = re.sub(r'(\]\([^)\s]*\))\{[^}]*\}', r'\1', text)            # Quarto link attributes, which pandoc's ipynb reader shows as text
    text = re.sub(r'\]\((?:\.\./)?paper/REPORT\.md\)', '](report.html)', text)
    text = re.sub(r'\]\((?:\.\./)?paper/figures/', '](figures/', text)
    return re.sub(r'\]\(([\w.-]+)\.ipynb\)', r'](\1.html)', text)

def apply_directives(cell:dict)->list[dict]:
    "What Quarto does with a processed cell, for pandoc: `echo: false` hides the code, markdown outputs render as markdown"
    if cell['cell_type'] != 'code': return [cell]
    source = ''.join(cell['source'])
    code = '' if re.search(r'^#\| echo: false', source, re.M) else ''.join(l for l in source.splitlines(keepends=True) if not l.startswith('#|'))
    cells, outputs = [], []
    for o in cell.get('outputs', []):
        if 'execution_count' in o: o['execution_count'] = 1          # pandoc wants a number
        if 'text/markdown' in o.get('data', {}): cells.append({'cell_type': 'markdown', 'metadata': {}, 'source': ''.join(o['data']['text/markdown'])})
        else: outputs.append(o)
    if code.strip() or outputs: cells.insert(0, {**cell, 'source': code, 'outputs': outputs})
    return cells

def docments_tables():
    "Make `show_doc` add the docments table (parameter, type, default, details) under each signature"
    from nbdev.showdoc import BasicMarkdownRenderer
    from fastcore.docments import DocmentTbl
    signature_only = getattr(BasicMarkdownRenderer._repr_markdown_, 'signature_only_', BasicMarkdownRenderer._repr_markdown_)
    def _repr_markdown_(self):
        table = DocmentTbl(self.sym)
        return signature_only(self) + ('\n\n' + table._repr_markdown_() if table.has_docment else '')
    _repr_markdown_.signature_only_ = signature_only
    BasicMarkdownRenderer._repr_markdown_ = _repr_markdown_

def title_cell(raw:dict)->dict:
    "nbdev's front matter (a raw YAML cell) as a markdown title and summary"
    fm = yaml.safe_load(''.join(raw['source']).strip().strip('-')) or {}
    text = f"# {fm.get('title', '')}" + (f"\n\n> {fm['description']}" if fm.get('description') else '')
    return {'cell_type': 'markdown', 'metadata': {}, 'source': text}

def pandoc(src:pathlib.Path, fmt:str, dst:pathlib.Path, title:str, nav:str):
    "One page: `src` (format `fmt`) to standalone HTML `dst`, images extracted beside it, the sidebar before the body"
    text = src.read_text()
    if fmt == 'ipynb':
        nb = json.loads(text)
        nb['cells'] = [title_cell(c) if c['cell_type'] == 'raw' and ''.join(c['source']).startswith('---') else c for c in nb['cells']]
        nb['cells'] = [d for c in nb['cells'] for d in apply_directives(c)]
        for c in nb['cells']:
            if c['cell_type'] == 'markdown': c['source'] = fix_links(''.join(c['source']))
        text = json.dumps(nb)
    else: text = fix_links(text)
    nav_file = PROC/'_nav.html'
    nav_file.write_text(nav + '\n<main>')
    (PROC/'_end.html').write_text('</main>')
    subprocess.run(['pandoc', '-f', fmt, '-t', 'html5', '--standalone', '--metadata', f'pagetitle={title}', '--css', 'site.css',
                    f'--extract-media={DOCS/"media"/dst.stem}', '-B', str(nav_file), '-A', str(PROC/'_end.html'), '-o', str(dst)],
                   input=text, text=True, check=True, cwd=DOCS)
    page = re.sub(r'<div class="sourceCode"[^>]*><pre\s[^>]*><code[^>]*></code></pre></div>|<pre class="python"><code></code></pre>', '',
                  dst.read_text().replace(f'{DOCS}/', ''))
    dst.write_text(page)

def build_pandoc()->list[str]:
    "The whole site with pandoc; returns the notebooks nbdev could not process"
    PROC.mkdir(exist_ok=True)
    failed = [] if os.environ.get('SITE_REUSE_PROC') else process_notebooks()
    shutil.rmtree(DOCS, ignore_errors=True)
    DOCS.mkdir()
    (DOCS/'site.css').write_text(CSS)
    shutil.copytree(PAPER/'figures', DOCS/'figures', ignore=shutil.ignore_patterns('*.pdf'))
    titles = {nb.name: title_of(nb) for nb in NBS.glob('*.ipynb')} | {'report.md': 'Report: the paper beside our numbers'}
    for nb in sorted(PROC.glob('*.ipynb')):
        pandoc(nb, 'ipynb', DOCS/page_name(nb.name), titles.get(nb.name, nb.stem), sidebar_html(page_name(nb.name), titles))
    pandoc(PAPER/'REPORT.md', 'markdown', DOCS/'report.html', titles['report.md'], sidebar_html('report.html', titles))
    return failed

def build_quarto():
    "The site with nbdev_docs (needs Quarto); the report and its figures are copied in as a page first"
    shutil.copy(PAPER/'REPORT.md', NBS/'report.md')
    shutil.copytree(PAPER/'figures', NBS/'figures', dirs_exist_ok=True)
    subprocess.run(['nbdev_docs'], check=True, cwd=ROOT)

def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quarto', action='store_true', help='use nbdev_docs (Quarto) even if pandoc is there')
    p.add_argument('--pandoc', action='store_true', help='use pandoc even if Quarto is there')
    a = p.parse_args(argv)
    os.environ.setdefault('ARITH_INTERP_PAPER', str(PAPER))
    if a.quarto or (shutil.which('quarto') and not a.pandoc): return build_quarto() or 0
    failed = build_pandoc()
    for f in failed: print(f'nbdev could not process {f}', file=sys.stderr)
    print(f'site: {len(list(DOCS.glob("*.html")))} pages in {DOCS}')
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
