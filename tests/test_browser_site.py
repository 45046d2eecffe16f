"""The built website in a real browser: notebook 02's page, served over http, as a reader sees it.

A static check cannot tell whether MathJax typeset the equations or whether the saved widget
state turned into controls: both happen in JavaScript, after the page loads. So this test serves
the site on 127.0.0.1, opens the page in headless Chromium and looks at what was drawn, with no
network (MathJax and the widget renderer are the site's own copies). On failure the fixture from
tests/browser_support.py saves runs/screenshots/TESTNAME.png and prints its path.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest_plugins = ["browser_support"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PAGE = "notebooks/02_vae_elbo.html"
TIMEOUT = 60  # seconds for MathJax and the widgets to finish drawing on 2 busy cores


def _load_build():
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per request would bury the test's output
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    """The built site (rebuilt in a temporary folder when stale), served on a free local port."""
    with pytest.MonkeyPatch.context() as mp:  # the build's own threads, not the later tests'
        mp.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
        site = _load_build().fresh_site(tmp_path_factory.mktemp("site"))
    if not (site / "_static" / "vendor" / "html-manager" / "embed.js").is_file():
        message = (
            "the site was built without npm, so MathJax and the widget renderer would come from a CDN "
            "and this machine has no network; run `python docs/build.py` once with npm"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


# Visible prose of the page: paragraphs, list items, table cells and headings outside code cells
# (code may hold TeX in strings, e.g. a plot label). Raw TeX there means MathJax did not run.
PROSE_TEXT = """
return Array.from(document.querySelectorAll('p, li, td, th, h1, h2, h3, div.math'))
    .filter(e => !e.closest('div.cell_input, div.cell_output, pre'))
    .map(e => e.innerText).join('\\n');
"""

# What the page fetched, apart from images (README's Colab badge is an image from colab.research.google.com).
FETCHED = (
    "return performance.getEntriesByType('resource').filter(e => e.initiatorType !== 'img').map(e => e.name);"
)


def test_notebook_02_page_renders_its_math_and_a_live_explorer(chromium, site_url):
    from browser_support import widget_errors
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.get(f"{site_url}/{PAGE}")

    # MathJax: wait for its start-up typesetting to finish, then count what it drew.
    WebDriverWait(chromium, TIMEOUT).until(
        lambda d: d.execute_script(
            "return !!(window.MathJax && MathJax.startup && MathJax.startup.document)"
        ),
        message=f"MathJax did not start within {TIMEOUT} s on {PAGE}: is _static/vendor/mathjax/ there?",
    )
    chromium.execute_async_script(
        "const done = arguments[0]; MathJax.startup.promise.then(() => done(true));"
    )
    typeset = len(chromium.find_elements(By.CSS_SELECTOR, "mjx-container"))
    assert typeset >= 50, f"MathJax drew {typeset} equations on {PAGE}; the page has well over 50"
    prose = chromium.execute_script(PROSE_TEXT)
    for raw in ("$$", "\\frac", "\\mathbb", "\\(", "\\["):
        assert raw not in prose, (
            f"raw TeX {raw!r} is still visible in the text of {PAGE}: MathJax did not typeset it"
        )

    # The explorer of section 9: its saved state is drawn as three sliders, not as a text repr.
    WebDriverWait(chromium, TIMEOUT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".widget-slider [role=slider]")) >= 3,
        message=f"no three sliders within {TIMEOUT} s on {PAGE}: did _static/vendor/html-manager/ load?",
    )
    sliders = [e for e in chromium.find_elements(By.CSS_SELECTOR, ".widget-slider") if e.is_displayed()]
    labels = [e.find_element(By.CSS_SELECTOR, "label").text for e in sliders]
    assert labels == ["μ₁ of q", "μ₂ of q", "log σ of q"], f"the explorer's sliders read {labels}"
    handle = sliders[0].find_element(By.CSS_SELECTOR, "[role=slider]")
    assert handle.get_attribute("aria-valuenow") == "0.0", (
        "the first slider does not show its saved value 0.0"
    )
    explorer = sliders[0].find_element(By.XPATH, "./ancestor::div[contains(@class, 'widget-vbox')][1]")
    assert explorer.find_elements(By.CSS_SELECTOR, ".widget-output img"), (
        "the explorer's saved figure is missing"
    )
    assert "μ₁ of q = 0.0" not in chromium.execute_script("return document.body.innerText"), (
        "the explorer's text repr is shown instead of (or beside) its controls"
    )
    # The training progress bars are saved widgets too.
    assert chromium.find_elements(By.CSS_SELECTOR, ".widget-hprogress .progress-bar"), (
        "no saved progress bar was drawn"
    )
    assert widget_errors(chromium) == []

    # Offline: every script, stylesheet and font came from the site itself.
    remote = [url for url in chromium.execute_script(FETCHED) if not url.startswith(site_url)]
    assert remote == [], f"{PAGE} fetched {remote} from the network"
