"""A headless Chromium for the tests marked `browser`: Debian's own browser and driver, nothing
downloaded, a screenshot of the page whenever such a test fails.

A browser test module asks for this plugin, then for the `chromium` fixture::

    pytest_plugins = ["browser_support"]

    @pytest.mark.browser
    @pytest.mark.slow
    def test_something(chromium):
        chromium.get("http://127.0.0.1:8000/")
        assert "Error displaying widget" not in page_text(chromium)

Why each choice:

- The browser is Debian's ``chromium`` and its ``chromium-driver`` (``/usr/bin``), started through
  ``Service(CHROMEDRIVER)``. Given no driver, selenium 4 runs *selenium-manager*, which downloads a
  browser and a driver from the internet; the tests must not need the network.
- When they are missing the test is skipped with the apt command that installs them, except on CI
  (``CI=true``), where the set-up installs them and a skip would hide that it did not.
- The flags are those a root user in a container needs (``--no-sandbox``, ``--disable-dev-shm-usage``),
  plus those that stop Chromium calling home (sync, component updates, background networking).
- Each test gets a fresh profile (``--user-data-dir`` under its ``tmp_path``): nothing a test
  stored (cookies, a JupyterLab workspace in local storage) reaches the next one.
- On failure, ``runs/screenshots/TESTNAME.png`` shows what the page looked like; its path is printed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "runs" / "screenshots"
WINDOW = (1400, 1000)  # width, height in CSS pixels: a laptop screen, wide enough for JupyterLab
INSTALL = "apt-get install chromium chromium-driver && pip install 'ganvae-edu[browser]'"

FLAGS = [
    "--headless=new",  # the real browser without a window (the old headless mode was a separate build)
    "--no-sandbox",  # Chromium's sandbox refuses to run as root, as tests do in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is 64 MB in Docker: use /tmp for shared memory instead
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
]


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_chromium() -> None:
    """Skip the calling test when chromium, chromedriver or selenium is absent; on CI, fail instead.

    CI installs all three (``.ci/run``), so there a missing one is a broken set-up, not a reason
    to skip.
    """
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    reason = f"{', '.join(missing)} not found; install them with: {INSTALL}"
    if _on_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def make_chromium(profile_dir: Path):
    """A headless Chromium WebDriver, with a fresh profile in `profile_dir`. Call ``.quit()`` on it.

    `require_chromium()` first: this function assumes the browser, driver and selenium are there.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    # Chromium's own log is noise in a test report; chromedriver's goes to a file next to the profile.
    options.add_experimental_option("excludeSwitches", ["enable-logging"])
    service = Service(str(CHROMEDRIVER), log_output=str(profile_dir.parent / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(*WINDOW)  # headless ignores --window-size on some versions
    return driver


def screenshot_path(test_name: str) -> Path:
    """runs/screenshots/TESTNAME.png, the parametrize id included, made safe as a file name."""
    return SCREENSHOTS / (re.sub(r"[^\w.-]+", "_", test_name).strip("_") + ".png")


def save_screenshot(driver, test_name: str) -> Path:
    """Save what `driver` shows now to `screenshot_path(test_name)`, print the path, return it."""
    path = screenshot_path(test_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    print(f"screenshot of the page: {path}")
    return path


def page_text(driver) -> str:
    """The text a person can read on the page now (the body's innerText; hidden elements excluded)."""
    return driver.execute_script("return document.body ? document.body.innerText : ''") or ""


def widget_errors(driver) -> list[str]:
    """Each "Error displaying widget…" on the page (what ipywidgets shows when a saved widget view
    has no model behind it), quoted, so an assertion can show them.

    It reads the page's text nodes, not what is painted (``innerText``): JupyterLab skips painting
    the cells out of view (content-visibility), and their errors count as well. Cheap enough to
    call in a polling loop: the walk over text nodes only runs when the phrase is on the page.
    """
    return driver.execute_script(
        "const phrase = 'Error displaying widget', found = [];"
        "if (!document.body || !document.body.textContent.includes(phrase)) return found;"
        "const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
        "while (walk.nextNode()) {"
        "  const text = walk.currentNode.data;"
        "  if (text.includes(phrase)) found.push(text.trim());"
        "}"
        "return found;"
    ) or []


# --------------------------------------------------------------------------- pytest plugin

_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember on the test item whether its setup or body failed, for the fixture's teardown."""
    report = yield
    if report.when in ("setup", "call") and report.failed:
        item.stash[_CALL_FAILED] = True
    return report


@pytest.fixture
def chromium(request, tmp_path):
    """A headless Chromium for one test; a screenshot of its last page if the test fails."""
    require_chromium()
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    driver = make_chromium(profile)
    try:
        yield driver
    finally:
        if request.node.stash.get(_CALL_FAILED, False):
            try:
                save_screenshot(driver, request.node.name)
            except Exception as exc:  # a dead browser cannot take one; say so, keep the real failure
                print(f"no screenshot: {exc!r}")
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
