"""Build the ganvae-edu website into docs/_build/html and check every internal link in it.

    python docs/build.py                  # what `make docs` runs
    python docs/build.py --out DIR        # build somewhere else (the tests build into a temporary folder)
    python docs/build.py --vendor-only    # only fetch MathJax and the widget renderer (Read the Docs)
    python docs/build.py --offline        # never run npm: what the tests do, as they have no network

Three steps, each of which can fail the build:

1. **Vendor.** MathJax and the ipywidgets renderer are served by the site itself, so that it reads
   offline. ``npm ci`` (versions pinned in docs/package-lock.json) fills docs/node_modules once;
   the few files the pages load are copied to docs/_static/vendor/. Without npm the site falls
   back to the CDN (one line says so) and then needs the network to show math and widgets.
2. **Sphinx.** ``sphinx-build -W --keep-going -E -b html docs docs/_build/html``: every warning
   is an error, and all of them are listed before it stops.
3. **Links.** Every ``href`` and ``src`` in the built pages that points inside the site must name
   a file that exists, and a ``#fragment`` must be an ``id`` in the page it points to. Sphinx does
   not check these itself: a link written in README or a notebook as ``[x](other.ipynb#part)``
   builds fine and 404s in the browser.

It prints the wall time and the number of pages; the exit status is non-zero on any failure.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "_build" / "html"
NODE_MODULES = DOCS / "node_modules"
VENDOR = DOCS / "_static" / "vendor"

# What each vendored package contributes: (folder inside node_modules, [file or folder or glob, …]).
# MathJax 3: the TeX+MathML → HTML bundle, the TeX extensions it loads on demand (\boldsymbol,
# \cancel, …), its fonts, and the context menu with its accessibility parts. html-manager 1.x
# (ipywidgets 8): the self-contained bundle and the icon fonts it loads next to itself.
VENDORED = {
    "mathjax": (
        "mathjax",
        [
            "LICENSE",
            "es5/tex-mml-chtml.js",
            "es5/input/tex/extensions",
            "es5/output/chtml/fonts/woff-v2",
            "es5/ui",
            "es5/a11y/assistive-mml.js",
            "es5/a11y/semantic-enrich.js",
            "es5/a11y/complexity.js",
            "es5/a11y/explorer.js",
        ],
    ),
    "html-manager": (
        "@jupyter-widgets/html-manager",
        ["package.json", "dist/embed.js", "dist/embed.js.LICENSE.txt", "dist/*.woff2", "dist/*.woff"],
    ),
}


# --------------------------------------------------------------------------- 1. vendor


def vendor(offline: bool = False) -> bool:
    """Install the pinned npm packages if need be and copy what the pages load into _static/vendor/.

    Returns False, having said why in one line, when npm is not available or fails (or, `offline`,
    when docs/node_modules is not there yet and nothing was copied before): the build then goes on
    with the CDN defaults (docs/conf.py decides from what is in _static/vendor/).
    """
    installed = NODE_MODULES / ".package-lock.json"  # npm writes it on install: what is there now
    if not installed.is_file() or installed.stat().st_mtime < (DOCS / "package-lock.json").stat().st_mtime:
        if offline:
            if VENDOR.is_dir():
                return True  # keep what an earlier build with npm copied
            print(f"docs/build.py: --offline and no {NODE_MODULES}; MathJax and widgets will load from a CDN")
            return False
        npm = shutil.which("npm")
        if npm is None:
            print("docs/build.py: npm not found; MathJax and widgets will load from a CDN (install npm)")
            return False
        # A new package-lock.json (other versions pinned) installs again. --ignore-scripts: nothing we
        # copy needs an install script (fontawesome's, deep in html-manager's tree, prints a notice).
        command = [npm, "ci", "--prefix", str(DOCS), "--ignore-scripts", "--no-audit", "--no-fund"]
        print("docs/build.py:", " ".join(command[1:]))
        if subprocess.run(command).returncode != 0:
            shutil.rmtree(NODE_MODULES, ignore_errors=True)  # a half-installed tree must not count as done
            print("docs/build.py: npm ci failed; MathJax and widgets will load from a CDN")
            return False
    for name, (package, parts) in VENDORED.items():
        source, target = NODE_MODULES / package, VENDOR / name
        shutil.rmtree(target, ignore_errors=True)
        for part in parts:
            matches = sorted(source.glob(part))
            if not matches:
                raise SystemExit(
                    f"docs/build.py: {source / part} is missing; delete {NODE_MODULES} and rerun"
                )
            for path in matches:
                # es5/… is MathJax's own layout; drop that prefix, and html-manager's dist/, so each
                # bundle sits at the top of its folder with the files it loads beside it.
                relative = path.relative_to(source)
                if relative.parts[0] in ("es5", "dist"):
                    relative = Path(*relative.parts[1:])
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                if path.is_dir():
                    shutil.copytree(path, destination)
                else:
                    shutil.copy2(path, destination)
    return True


# --------------------------------------------------------------------------- 3. links

# The attributes that point somewhere, on the tags where a browser follows or loads them.
LINK_ATTRIBUTES = {
    "a": "href",
    "link": "href",
    "img": "src",
    "script": "src",
    "iframe": "src",
    "source": "src",
}


class _PageParser(HTMLParser):
    """Collects a page's anchors (every id=, and name= on <a>) and its outgoing href/src values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"])
        attribute = LINK_ATTRIBUTES.get(tag)
        if attribute and values.get(attribute):
            self.links.append(values[attribute])


def _parse(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def _is_external(url: str) -> bool:
    """http(s)://, mailto:, data:, javascript:, protocol-relative //host: not the site's business."""
    parts = urlsplit(url)
    return bool(parts.scheme) or url.startswith("//")


def broken_links(site: Path) -> list[str]:
    """Every internal link in the HTML pages under `site` that leads nowhere, one line each:
    ``page.html: 'target#anchor' → why``. An empty list means all of them resolve.

    A link is resolved relative to its page, as a browser does (a folder means its index.html);
    its target must exist under `site`, and its #fragment, if any, must be an id in that target.
    """
    site = Path(site).resolve()
    pages = sorted(site.rglob("*.html"))
    parsed = {page: _parse(page) for page in pages}
    broken = []
    for page, parser in parsed.items():
        where = page.relative_to(site).as_posix()
        for url in parser.links:
            if _is_external(url):
                continue
            parts = urlsplit(url)
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                if parts.path.endswith("/") or target.is_dir():
                    target = target / "index.html"
            else:
                target = page  # "#anchor" alone: this page
            if not target.is_relative_to(site):
                broken.append(f"{where}: {url!r} → points outside the site")
                continue
            if not target.is_file():
                broken.append(f"{where}: {url!r} → no file {target.relative_to(site).as_posix()}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if fragment not in ids:
                    broken.append(
                        f"{where}: {url!r} → no id={fragment!r} in {target.relative_to(site).as_posix()}"
                    )
    return broken


def content_pages(site: Path) -> list[Path]:
    """The site's pages of content: every .html except Sphinx's own search and index pages."""
    return [p for p in sorted(Path(site).rglob("*.html")) if p.name not in ("search.html", "genindex.html")]


# --------------------------------------------------------------------------- for the tests

ROOT = DOCS.parent
# What the site is made from: a page older than any of these is stale.
SOURCES = ["README.md", "notebooks/*.ipynb", "docs/conf.py", "docs/index.md", "docs/_static/*.*"]


def is_stale(site: Path) -> bool:
    """True when `site` has no index.html or it is older than a notebook, README or docs/ source."""
    index = Path(site) / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    return any(path.stat().st_mtime > built for pattern in SOURCES for path in ROOT.glob(pattern))


def fresh_site(scratch: Path) -> Path:
    """docs/_build/html when it is up to date, else a new build in `scratch` (what the tests use).

    Raises RuntimeError with the build's output when the build fails or leaves broken links.
    """
    if not is_stale(OUT):
        return OUT
    out = Path(scratch) / "html"
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--offline", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"python docs/build.py --out {out} failed:\n{result.stdout[-6000:]}{result.stderr[-4000:]}"
        )
    return out


# --------------------------------------------------------------------------- main


def build(out: Path) -> int:
    """Steps 2 and 3 into `out`; returns the exit status (0: built, no warning, no broken link)."""
    # -E: read every source again, so that a warning is reported on each build, not only on the
    # build that first met it; -d: Sphinx's cache beside the site, not inside what is published.
    # A page whose notebook was renamed or removed would stay behind in an old build: start empty.
    if out.is_dir() and any(out.iterdir()):
        if not (out / ".buildinfo").is_file():
            print(f"docs/build.py: {out} exists and is not a Sphinx build; give --out an empty or new folder")
            return 2
        shutil.rmtree(out)
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html"]
    command += ["-d", str(out.parent / "doctrees"), str(DOCS), str(out)]
    print("docs/build.py: sphinx-build", " ".join(command[3:]))
    if subprocess.run(command).returncode != 0:
        print("docs/build.py: sphinx-build failed (every warning is an error); see the lines above")
        return 1
    broken = broken_links(out)
    for line in broken:
        print(f"broken link: {line}")
    if broken:
        print(f"docs/build.py: {len(broken)} broken internal link(s); fix them in README.md or the notebooks")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    parser.add_argument(
        "--vendor-only", action="store_true", help="only copy MathJax and the widget renderer"
    )
    parser.add_argument(
        "--offline", action="store_true", help="never run npm (use docs/node_modules if there)"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    vendor(offline=args.offline)
    if args.vendor_only:
        return 0
    status = build(args.out.resolve())
    seconds = time.perf_counter() - start
    pages = len(content_pages(args.out)) if args.out.is_dir() else 0
    verdict = "built" if status == 0 else "FAILED"
    print(f"docs/build.py: {verdict} {pages} pages in {seconds:.1f} s → {args.out}/index.html")
    return status


if __name__ == "__main__":
    sys.exit(main())
