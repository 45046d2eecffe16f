"""Sphinx configuration of the ganvae-edu website: the eight committed notebooks as a book.

Build it with ``make docs`` (that is ``python docs/build.py``): warnings are errors, internal
links are checked, and MathJax and the ipywidgets renderer are served from the site itself.

Choices, and why:

- **No re-execution** (``nb_execution_mode = "off"``): the notebooks are committed executed, and
  the site shows exactly those outputs: figures, printed checks, exercises, saved widget state.
- **The notebooks are read in place** through the committed symlink ``docs/notebooks ->
  ../notebooks``; the student copies and scratch runs next to them are excluded below.
- **Offline**: a reader of a downloaded copy, and the tests, have no network. ``docs/build.py``
  copies MathJax 3 and the widget renderer (``@jupyter-widgets/html-manager`` 1.x, whose bundle
  renders the ipywidgets 8 state saved in the notebooks) into ``_static/vendor/``; this file points
  Sphinx and MyST-NB at them. When they are missing (no npm) it falls back to the CDN and says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.environment import BuildEnvironment

DOCS = Path(__file__).resolve().parent
VENDOR = DOCS / "_static" / "vendor"
NOTEBOOKS_LINK = DOCS / "notebooks"  # the committed symlink …
NOTEBOOKS = NOTEBOOKS_LINK.resolve()  # … and the folder it points to

project = "ganvae-edu"
author = "ganvae-edu contributors"
copyright = "ganvae-edu contributors, MIT licence"

extensions = ["myst_nb"]  # MyST-NB brings MyST-Parser (Markdown) with it

# What Sphinx reads: index.md and the eight notebooks. notebooks/student/ holds copies of the same
# notebooks with the solutions stubbed; notebooks/runs/ is scratch output of `ganvae-edu run`.
exclude_patterns = [
    "_build",
    "node_modules",
    "notebooks/student",
    "notebooks/runs",
    "**/.ipynb_checkpoints",
    "**/*.partial.ipynb",
    "**/.*",
]

# --------------------------------------------------------------------------- the notebooks
# A Markdown link to a notebook ([notebook 01](01_gan_minimax.ipynb), or README's
# notebooks/01_gan_minimax.ipynb) is resolved by Sphinx to a file path with the symlinks followed:
# docs/notebooks/X becomes notebooks/X, outside docs/, and the link fails as "Unknown source
# document". This maps such a path back through the symlink, so that it names the page again.
_relfn2path = getattr(BuildEnvironment.relfn2path, "_original", BuildEnvironment.relfn2path)


def _relfn2path_through_symlink(self, filename, docname=None):
    relative, absolute = _relfn2path(self, filename, docname)
    path = Path(absolute)
    if path.is_relative_to(NOTEBOOKS):
        path = NOTEBOOKS_LINK / path.relative_to(NOTEBOOKS)
        return path.relative_to(DOCS).as_posix(), os.fspath(path)
    return relative, absolute


_relfn2path_through_symlink._original = _relfn2path
BuildEnvironment.relfn2path = _relfn2path_through_symlink

nb_execution_mode = "off"  # show the committed outputs; never run a kernel while building
nb_merge_streams = True  # consecutive prints of a cell read as one block, as in JupyterLab

# --------------------------------------------------------------------------- Markdown
# $…$ and $$…$$ math as the notebooks write it; \begin{align} blocks; anchors on headings to
# level 3, so that README's [Benchmarks](#benchmarks) links resolve on the index page.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# --------------------------------------------------------------------------- offline assets
MATHJAX = VENDOR / "mathjax" / "tex-mml-chtml.js"
WIDGETS = VENDOR / "html-manager" / "embed.js"
VENDORED = MATHJAX.is_file() and WIDGETS.is_file()

if VENDORED:
    # Paths relative to _static/. MathJax 3 finds its fonts and TeX extensions next to its script.
    mathjax_path = "vendor/mathjax/tex-mml-chtml.js"
    # The non-AMD bundle: the standard widgets (controls, output, base) are built in, so no
    # require.js and no CDN lookup for modules; it renders every saved view once the page loads.
    nb_ipywidgets_js = {"vendor/html-manager/embed.js": {}}
else:
    print(
        "docs/conf.py: docs/_static/vendor/ is missing (run `python docs/build.py`, which needs npm); "
        "MathJax and the widget renderer will load from a CDN, so the site needs the network"
    )
    mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    # nb_ipywidgets_js keeps MyST-NB's default: require.js and html-manager's AMD bundle from a CDN

# MathJax 3 reads its configuration from window.MathJax; MyST adds which classes to typeset.
mathjax3_config = {"tex": {"tags": "none"}}
# ipywidgets typesets widget labels through MathJax 2's Hub.Queue; widgets_mathjax.js lends it to
# MathJax 3. Priority 600 puts it after the MathJax script (500); both are deferred, so in order.
html_js_files = [("widgets_mathjax.js", {"defer": "defer", "priority": 600})]

# --------------------------------------------------------------------------- HTML
html_theme = "alabaster"
html_title = "ganvae-edu"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_copy_source = False  # the .ipynb sources are on GitHub; copying them would double the site
html_show_sourcelink = False
html_theme_options = {
    "description": "GANs and VAEs for text, derived step by step",
    "page_width": "1240px",
    "body_max_width": "1000px",  # alabaster keeps the text at 800 px otherwise; outputs are wide
    "sidebar_width": "230px",
    "fixed_sidebar": True,
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
