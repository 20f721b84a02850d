"""Check the built site (_docs/): every notebook has a page, every figure page shows its image, the report is a page,
the sidebar lists every notebook, and no internal link or image is broken. Exit 1 with the problems listed."""
import json, sys, pathlib, html.parser, urllib.parse
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NBS, DOCS = ROOT/'nbs', ROOT/'_docs'

class Links(html.parser.HTMLParser):
    "The href/src targets and <img> sources of one page"
    def __init__(self):
        super().__init__()
        self.targets, self.images = [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ('href', 'src'):
            if a.get(key): self.targets.append(a[key])
        if tag == 'img' and a.get('src'): self.images.append(a['src'])

def parse(page:pathlib.Path)->Links:
    p = Links()
    p.feed(page.read_text(errors='replace'))
    return p

def is_internal(url:str)->bool:
    return not urllib.parse.urlparse(url).scheme and not url.startswith(('#', '//'))

def broken(page:pathlib.Path, url:str)->bool:
    "True if internal link `url` on `page` points at no file"
    path = urllib.parse.unquote(urllib.parse.urlparse(url).path)
    return bool(path) and not (page.parent/path).exists()

def sidebar_files()->set[str]:
    contents = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
    return {f for c in contents for f in ([c] if isinstance(c, str) else c['contents'])}

def unpublished(nb:pathlib.Path)->bool:
    "A figure notebook whose tables are not published yet: its front matter says `skip_exec: true` (tests/test_paper.py ties it to paper/data)"
    first = json.loads(nb.read_text())['cells'][0]
    return first['cell_type'] == 'raw' and 'skip_exec: true' in ''.join(first['source'])

def problems(docs:pathlib.Path=DOCS)->list[str]:
    "Everything wrong with the site in `docs`"
    notebooks = sorted(NBS.glob('*.ipynb'))
    out = [f'no page for {nb.name}' for nb in notebooks if not (docs/f'{nb.stem}.html').exists()]
    out += [f'{nb.name} is not in nbs/sidebar.yml' for nb in notebooks if nb.name not in sidebar_files()]
    out += [] if (docs/'report.html').exists() else ['no page for paper/REPORT.md (report.html)']
    for nb in (nb for nb in notebooks if nb.name[:1] == '9' and (docs/f'{nb.stem}.html').exists() and not unpublished(nb)):
        images = [i for i in parse(docs/f'{nb.stem}.html').images if i.startswith('data:') or not broken(docs/f'{nb.stem}.html', i)]
        out += [] if images else [f'figure page {nb.stem}.html shows no image']
    for page in sorted(docs.rglob('*.html')):
        out += [f'{page.relative_to(docs)}: broken link {u}' for u in parse(page).targets if is_internal(u) and broken(page, u)]
    return out

if __name__ == '__main__':
    if not DOCS.exists(): sys.exit('no site: build it first (python tools/site.py)')
    found = problems()
    print('\n'.join(found) or f'site ok: {len(list(DOCS.glob("*.html")))} pages, every notebook, figure and internal link present')
    sys.exit(1 if found else 0)
