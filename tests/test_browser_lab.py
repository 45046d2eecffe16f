"""What a person sees in JupyterLab: notebook 01 run cell by cell, its first explorer moved.

The other tests run the notebooks headless (papermill), where no widget is drawn. This one does
what a student does, in a real browser (Debian's headless Chromium, see `browser_support`):

1. notebook 01 from a working copy (``ganvae-edu notebooks DIR``, as a student makes one) with
   small parameters, edited in its ``parameters`` cell as a user would (``show_progress`` keeps
   its default, so the live progress bars are drawn);
2. JupyterLab on 127.0.0.1 with a random token, every Jupyter folder in the test's tmp, nothing
   that calls the internet (news, update checks, the extension manager's PyPI);
3. Shift+Enter on each cell, in order, until a cell's output holds a slider: the first explorer;
4. the Left arrow key on that slider's handle, and the explorer's figure must change.

All along, the page must never read "Error displaying widget" (a widget view whose model is
gone), no cell may raise, and a progress bar widget must have been drawn by the training cells.
On failure `browser_support` saves runs/screenshots/TESTNAME.png; on success the moved explorer
is saved to runs/screenshots/lab_explorer.png, to look at.

Run it alone (about 1–2 minutes on 2 CPU cores)::

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests/test_browser_lab.py -m browser -v
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

pytest.register_assert_rewrite("browser_support")
pytest_plugins = ["browser_support"]  # the `chromium` fixture, with its screenshot on failure

from browser_support import SCREENSHOTS, widget_errors  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "01_gan_minimax.ipynb"
CLI = Path(sys.executable).with_name("ganvae-edu")
# The cheapest budgets that still train (tests/test_student_copies.py uses the same); the figures
# are not the point here, the widgets are. output_dir is set to the test's tmp below.
SMALL = {"steps": 40, "batch_size": 32}

SERVER_START_S = 90  # JupyterLab's first start builds nothing, but 2 busy cores are slow
OPEN_S = 150  # the page drawing all 54 cells (math included) and the kernel starting: 25-45 s seen
CELL_S = 120  # the slowest cell at SMALL budgets takes ~10 s alone on 2 cores
REDRAW_S = 30


# --------------------------------------------------------------------------- the working copy


def working_copy(directory: Path) -> Path:
    """Notebook 01 as a person gets it, in `directory`: from ``ganvae-edu notebooks DIR`` when
    that command exists (its copies show widget outputs as their static final look), else copied."""
    has_command = CLI.exists() and subprocess.run(
        [str(CLI), "notebooks", "--help"], capture_output=True).returncode == 0
    if not has_command:
        directory.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(NOTEBOOK, directory / NOTEBOOK.name))
    done = subprocess.run([str(CLI), "notebooks", str(directory)], capture_output=True, text=True)
    assert done.returncode == 0, f"ganvae-edu notebooks {directory} failed:\n{done.stdout}\n{done.stderr}"
    found = [p for p in directory.rglob(NOTEBOOK.name) if "student" not in p.relative_to(directory).parts]
    assert found, f"ganvae-edu notebooks {directory} wrote no {NOTEBOOK.name} (outside student/)"
    return found[0]


def set_parameters(path: Path, values: dict) -> None:
    """Rewrite ``name = literal`` lines of the notebook's ``parameters`` cell, as a user edits it,
    keeping each line's comment; every name in `values` must be there."""
    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    assert cell is not None, f"{path.name} has no cell tagged 'parameters'"
    todo = dict(values)
    lines = []
    for line in cell.source.splitlines():
        m = re.match(r"^(\w+) = .*?(\s+#.*)?$", line)
        if m and m.group(1) in todo:
            line = f"{m.group(1)} = {todo.pop(m.group(1))!r}{m.group(2) or ''}"
        lines.append(line)
    assert not todo, f"{path.name}'s parameters cell has no line for {sorted(todo)}; update SMALL"
    cell.source = "\n".join(lines)
    nbformat.write(nb, path)


# --------------------------------------------------------------------------- JupyterLab


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _offline_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab's front end off the internet: no news, no update check,
    no extension manager (it lists extensions from PyPI)."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
    }
    for name, value in files.items():
        (settings_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings_dir / name).write_text(json.dumps(value))


@contextmanager
def jupyter_lab(root: Path, home: Path) -> Iterator[tuple[str, str]]:
    """Run JupyterLab serving `root`, its config, data, runtime, settings and workspaces under
    `home`; yield its base URL (``http://127.0.0.1:PORT``) and its token.
    On exit, shut it and its kernels down (the REST API first, then signals)."""
    import psutil

    port, token = free_port(), secrets.token_hex(16)
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    _offline_settings(dirs["settings"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.pop("GANVAE_HEADLESS", None)  # a person is looking: live widgets, live bars
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
               JUPYTER_PLATFORM_DIRS="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        f"--LabApp.user_settings_dir={dirs['settings']}", f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    log_path = home / "jupyterlab.log"
    log = log_path.open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])

    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode} while starting:\n{log_tail()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer /api/status within {SERVER_START_S} s:\n{log_tail()}")
            time.sleep(0.5)
        yield base, token
    finally:
        children = psutil.Process(server.pid).children(recursive=True) if server.poll() is None else []
        try:  # the server's own shutdown stops its kernels cleanly
            shutdown = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(shutdown, timeout=5)
            server.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for child in children:  # kernels it left behind, if any
            if child.is_running():
                child.kill()
        log.close()


# --------------------------------------------------------------------------- the page


def wait_for(what: str, condition, timeout: float, driver, interval: float = 0.25):
    """Poll `condition()` until it returns something truthy (returned); fail naming `what`.

    Every poll also checks the page for "Error displaying widget", the failure this test is for.
    """
    deadline = time.monotonic() + timeout
    while True:
        errors = widget_errors(driver)
        assert not errors, f"while waiting for {what}, the page shows: {errors}"
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(interval)


CELLS = ".jp-NotebookPanel .jp-Notebook .jp-Cell"  # every cell of the open notebook, in order


def cells(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, CELLS)


def kernel_status(driver) -> str:
    """The notebook toolbar's kernel indicator: 'idle', 'busy', 'starting', … ('' before it exists)."""
    return driver.execute_script(
        "const e = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');"
        "return e ? e.getAttribute('data-status') || '' : '';")


def prompt(cell) -> str:
    """A code cell's input prompt as shown: '[ ]:', '[*]:' while it runs, '[7]:' when done."""
    from selenium.webdriver.common.by import By

    return cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text.strip()


def short(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + " …"


def first_line(cell) -> str:
    """The cell's first line that says something (not an ``# NBVAL_…`` marker), to name it in a failure."""
    from selenium.webdriver.common.by import By

    editor = cell.find_elements(By.CSS_SELECTOR, ".cm-content")
    lines = [ln for ln in (editor[0].text if editor else cell.text).splitlines()
             if ln.strip() and not ln.startswith("# NBVAL")]
    return short(lines[0] if lines else "", 80)


def run_active_cell(driver, index: int) -> None:
    """Shift+Enter, as a person presses it, on cell `index`, which must be the active one."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    active = driver.execute_script(f"return [...document.querySelectorAll('{CELLS}')]"
                                   ".flatMap((c, i) => c.classList.contains('jp-mod-active') ? [i] : []);")
    if active != [index]:
        pytest.fail(f"cell {index} should be the active cell before Shift+Enter; the active one is {active}")
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()


def explorer_image(cell) -> str:
    """The src of the figure inside the explorer's Output widget ('' while it is redrawn)."""
    from selenium.webdriver.common.by import By

    imgs = cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-output img")
    return (imgs[0].get_attribute("src") or "") if imgs else ""


# --------------------------------------------------------------------------- the test


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a working copy of notebook 01 with `SMALL` parameters:
    yields (base URL, token, the notebook's path)."""
    notebook = working_copy(tmp_path / "lab")
    set_parameters(notebook, {**SMALL, "output_dir": str(tmp_path / "run")})
    with jupyter_lab(notebook.parent, tmp_path / "jupyter") as (base, token):
        yield base, token, notebook


@pytest.mark.browser
@pytest.mark.slow
def test_notebook_01_runs_to_its_first_explorer_and_the_slider_redraws_it(lab, chromium):
    # `lab` comes before `chromium`: fixtures end in reverse order, so the browser (and its
    # screenshot on failure) is done before the server stops, and the picture shows the failure.
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    t0 = time.perf_counter()
    base, token, notebook = lab
    n_cells = len(nbformat.read(notebook, as_version=4).cells)
    chromium.get(f"{base}/lab/tree/{notebook.name}?token={token}")
    wait_for(f"JupyterLab to show the notebook's {n_cells} cells",
             lambda: len(cells(chromium)) == n_cells, OPEN_S, chromium)
    wait_for("the kernel to be idle", lambda: kernel_status(chromium) == "idle", OPEN_S, chromium)
    t_open = time.perf_counter() - t0

    cells(chromium)[0].click()  # select the first cell, in command mode (it is Markdown, rendered)
    explorer, progress_bars = None, 0
    for i in range(n_cells):
        cell = cells(chromium)[i]
        is_code = "jp-CodeCell" in cell.get_attribute("class")
        label = f"cell {i} ({first_line(cell)!r})"
        run_active_cell(chromium, i)
        if not is_code:
            continue
        wait_for(f"{label} to finish",
                 lambda c=cell: re.fullmatch(r"\[\d+\]:", prompt(c)), CELL_S, chromium)
        shown = "\n".join(o.text for o in cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))
        assert "Traceback (most recent call last)" not in shown, f"{label} raised:\n{shown[-2000:]}"
        progress_bars += len(cell.find_elements(By.CSS_SELECTOR, ".widget-hprogress"))  # tqdm.notebook's bar
        if cell.find_elements(By.CSS_SELECTOR, ".widget-slider"):
            explorer = (cell, label)
            break
    assert explorer is not None, f"no cell of {notebook.name} showed a slider (ran all {n_cells} cells)"
    cell, label = explorer
    assert progress_bars > 0, ("the training cells before the explorer drew no progress bar widget "
                               "(show_progress keeps its default, True, here)")

    # The explorer: a slider, its readout, and the figure its Output widget shows.
    readout = cell.find_element(By.CSS_SELECTOR, ".widget-slider .widget-readout")
    before = wait_for(f"{label}'s figure", lambda: explorer_image(cell), REDRAW_S, chromium)
    value_before = readout.text
    handle = cell.find_element(By.CSS_SELECTOR, ".widget-slider .noUi-handle")
    chromium.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
    ActionChains(chromium).click(handle).send_keys(Keys.ARROW_LEFT).perform()
    wait_for(f"{label}'s slider to move from {value_before} on the Left arrow key",
             lambda: readout.text != value_before, REDRAW_S, chromium)
    value_after = readout.text
    wait_for(f"{label}'s figure to be redrawn after the slider moved {value_before} → {value_after}",
             lambda: explorer_image(cell) not in ("", before), REDRAW_S, chromium)
    errors = widget_errors(chromium)
    assert not errors, f"after the slider moved, the page shows: {errors}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium.save_screenshot(str(SCREENSHOTS / "lab_explorer.png"))
    print(f"{label}: slider {value_before} → {value_after}, figure redrawn; "
          f"{progress_bars} progress bar widget(s); in the browser {time.perf_counter() - t0:.0f} s "
          f"(opening the notebook {t_open:.0f} s); "
          f"screenshot {SCREENSHOTS / 'lab_explorer.png'}")
