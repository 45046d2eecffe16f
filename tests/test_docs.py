"""The website (docs/, `make docs`): its link checker, and the built site itself.

The checker is tested on small HTML trees written here, where the right answer is known; then the
real site (docs/_build/html when it is newer than every notebook and source, else a fresh build in
a temporary folder, about 15 s) must have a page per notebook, no broken internal link, no
traceback among the outputs, and no script from the network.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _load_build():
    """docs/build.py as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _write(site: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>", encoding="utf-8")
    return site


# --------------------------------------------------------------------------- the link checker


def test_link_checker_passes_a_site_whose_links_all_resolve(tmp_path):
    site = _write(
        tmp_path,
        {
            "index.html": (
                '<h1 id="top">x</h1><a href="#top">self</a> <a href="notebooks/a.html#part-2">a</a>'
                ' <a href="notebooks/">folder</a> <img src="_images/f.png">'
                ' <script src="_static/s.js?v=1"></script> <a href="https://example.org/x#y">out</a>'
                ' <a href="mailto:a@b.c">mail</a> <img src="data:image/png;base64,AAAA">'
            ),
            "notebooks/a.html": '<section id="part-2"><a name="old"></a><a href="../index.html#top">up</a>',
            "notebooks/index.html": '<a href="a.html#old">named anchor</a> <a href="../search.html">s</a>',
            "search.html": '<link rel="stylesheet" href="_static/s.css">',
        },
    )
    (site / "_images").mkdir()
    (site / "_images" / "f.png").write_bytes(b"png")
    (site / "_static").mkdir()
    (site / "_static" / "s.js").write_text("", encoding="utf-8")
    (site / "_static" / "s.css").write_text("", encoding="utf-8")
    assert build.broken_links(site) == []


def test_link_checker_names_a_missing_page_a_missing_anchor_and_a_missing_asset(tmp_path):
    site = _write(
        tmp_path,
        {
            "index.html": (
                '<a href="notebooks/gone.html">gone</a> <a href="notebooks/a.html#nowhere">anchor</a>'
                ' <a href="#not-here">self</a> <script src="_static/vendor/embed.js"></script>'
                ' <a href="../outside.html">out of the site</a>'
            ),
            "notebooks/a.html": '<h2 id="somewhere">a</h2>',
        },
    )
    broken = build.broken_links(site)
    assert broken == [
        "index.html: 'notebooks/gone.html' → no file notebooks/gone.html",
        "index.html: 'notebooks/a.html#nowhere' → no id='nowhere' in notebooks/a.html",
        "index.html: '#not-here' → no id='not-here' in index.html",
        "index.html: '_static/vendor/embed.js' → no file _static/vendor/embed.js",
        "index.html: '../outside.html' → points outside the site",
    ]


# --------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as mp:  # the build's own threads, not the later tests'
        mp.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
        return build.fresh_site(tmp_path_factory.mktemp("site"))


def test_site_has_the_index_and_one_page_per_notebook_and_nothing_else(site):
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(notebooks) == 8
    pages = {p.relative_to(site).as_posix() for p in build.content_pages(site)}
    assert pages == {"index.html"} | {f"notebooks/{name}.html" for name in notebooks}
    index = (site / "index.html").read_text(encoding="utf-8")
    for name in notebooks:  # the toctree, below README's text, links every notebook
        assert f'href="notebooks/{name}.html"' in index, f"index.html does not link notebooks/{name}.html"


def test_site_has_no_broken_internal_link(site):
    assert build.broken_links(site) == []


def test_no_page_shows_a_traceback(site):
    for page in build.content_pages(site):
        html = page.read_text(encoding="utf-8")
        assert 'class="output traceback' not in html, f"{page.name} shows an error output"
        assert "Traceback (most recent call last)" not in html, f"{page.name} shows a Python traceback"


def test_notebook_pages_show_math_figures_exercises_and_saved_widgets(site):
    page = (site / "notebooks" / "02_vae_elbo.html").read_text(encoding="utf-8")
    assert page.count('class="math notranslate nohighlight"') > 20  # $…$ and $$…$$ left for MathJax
    assert len(re.findall(r'<img [^>]*src="\.\./_images/', page)) >= 3  # the notebook's figures
    assert "BEGIN SOLUTION" in page and "Exercise 1" in page  # exercises, with their checker's verdict
    assert page.count('type="application/vnd.jupyter.widget-state+json"') == 1
    assert page.count('type="application/vnd.jupyter.widget-view+json"') >= 1


def test_pages_load_mathjax_and_the_widget_renderer_from_the_site_itself(site):
    """Offline reading: no script or stylesheet from a CDN. Only a site built without npm has them."""
    if not (site / "_static" / "vendor" / "html-manager" / "embed.js").is_file():
        message = "the site was built without npm (docs/node_modules missing), so it loads MathJax from a CDN"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {message}; run `python docs/build.py` once with npm")
        pytest.skip(f"{message}; run `python docs/build.py` once with npm and the network")
    for page in build.content_pages(site):
        html = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html)
        assert remote == [], f"{page.relative_to(site)} loads {remote} from the network"
    page = (site / "notebooks" / "02_vae_elbo.html").read_text(encoding="utf-8")
    assert 'src="../_static/vendor/mathjax/tex-mml-chtml.js' in page
    assert 'src="../_static/vendor/html-manager/embed.js' in page
