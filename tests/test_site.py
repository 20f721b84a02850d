"The site checker finds what it must; on a built site (tools/site.py), the site passes it."
import sys, pathlib
import pytest
ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import check_site

def test_checker_finds_broken_links_and_missing_figures(tmp_path):
    for nb in check_site.NBS.glob('*.ipynb'): (tmp_path/f'{nb.stem}.html').write_text('<img src="data:image/png;base64,AA">')
    (tmp_path/'report.html').write_text('<a href="index.html">home</a> <a href="https://example.org">out</a> <a href="#top">top</a>')
    assert check_site.problems(tmp_path) == []
    (tmp_path/'index.html').write_text('<a href="missing.html#x">gone</a><img src="media/none.png">')
    (tmp_path/'90_fig_head_heatmap.html').write_text('<p>no figure</p>')
    (tmp_path/'00_core.html').unlink()
    assert sorted(check_site.problems(tmp_path)) == ['figure page 90_fig_head_heatmap.html shows no image', 'index.html: broken link media/none.png',
                                                     'index.html: broken link missing.html#x', 'no page for 00_core.ipynb']

@pytest.mark.skipif(not check_site.DOCS.exists(), reason='site not built (python tools/site.py)')
def test_built_site():
    assert check_site.problems() == []

def test_an_unpublished_figure_page_may_show_no_image(tmp_path):
    "A figure notebook skipped until its study is published (front matter skip_exec) has no figure yet: not a problem"
    for nb in check_site.NBS.glob('*.ipynb'): (tmp_path/f'{nb.stem}.html').write_text('<img src="data:image/png;base64,AA">')
    (tmp_path/'report.html').write_text('<a href="index.html">home</a>')
    waiting = [nb for nb in check_site.NBS.glob('9*.ipynb') if check_site.unpublished(nb)]
    for nb in waiting: (tmp_path/f'{nb.stem}.html').write_text('<p>not published yet</p>')
    assert check_site.problems(tmp_path) == []
    assert not check_site.unpublished(check_site.NBS/'90_fig_head_heatmap.ipynb')
