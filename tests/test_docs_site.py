"""The docs site (scripts/docs.sh, build/docs/) as a browser shows it: Debian's Chromium,
headless, loads the home page and the API pages and the test reads their text.

The site is built first when it is missing or older than its sources. Under CI=true a
missing Chromium, venv or site fails the test; elsewhere it skips.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import knit
import knit.dask
from helpers import ON_CI

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "docs"
# What the site is made from: a page or docstring newer than the built home page means
# the site is stale.
SOURCES = (ROOT / "docs", ROOT / "knit")
BUILD_TIMEOUT_S = 300
BROWSER_TIMEOUT_S = 60


def _missing(what: str) -> None:
    (pytest.fail if ON_CI else pytest.skip)(what)


def _newest_source_mtime() -> float:
    return max(p.stat().st_mtime for d in SOURCES for p in d.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and "java_libs" not in p.parts)


@pytest.fixture(scope="module")
def site() -> Path:
    """build/docs, (re)built with scripts/docs.sh if it is missing or stale."""
    index = SITE / "index.html"
    if not index.exists() or index.stat().st_mtime < _newest_source_mtime():
        if not (ROOT / ".venv" / "bin" / "python").exists():
            # docs.sh would bootstrap the venv (apt-get, Maven): not a test's job.
            _missing("the docs site needs .venv: run bash scripts/docs.sh")
        run = subprocess.run(["bash", str(ROOT / "scripts" / "docs.sh")], cwd=ROOT,
                             capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        assert run.returncode == 0, f"scripts/docs.sh failed:\n{run.stdout}\n{run.stderr}"
    if not index.exists():
        _missing(f"no docs site at {SITE}")
    return SITE


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        _missing("the docs test needs Chromium: apt-get install chromium")
    return path


class _Text(HTMLParser):
    """The text of a page, without its scripts and styles, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.parts))


def page_text(chromium: str, page: Path, profile: Path) -> str:
    """The text of `page` once Chromium has loaded it (scripts run) and dumped its DOM."""
    # --no-sandbox: Chromium's sandbox does not start as root or in most containers; the
    # pages are our own local files.
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT_S)
    finally:
        # Chromium's helper processes share its session: end any it left behind.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0, f"chromium failed on {page}: {err[-2000:]}"
    parser = _Text()
    parser.feed(out)
    return parser.text()


def test_home_page(site, chromium, tmp_path):
    text = page_text(chromium, site / "index.html", tmp_path)
    assert "knit runs Python and Dask on Hadoop YARN" in text
    for link in ("API reference", "Command-line reference", "Benchmarks", "Dask on YARN"):
        assert link in text


def test_yarncluster_api_page(site, chromium, tmp_path):
    text = page_text(chromium, site / "api" / "dask.html", tmp_path)
    assert "class knit.dask.YarnCluster" in text
    # Parameters from the numpydoc docstring, and a method's entry.
    for name in ("n_workers", "worker_memory", "deploy_mode", "from_application_id",
                 "WorkersCannotConnectError"):
        assert name in text


def test_api_index_lists_every_export(site, chromium, tmp_path):
    text = page_text(chromium, site / "api" / "index.html", tmp_path)
    exported = [n for n in knit.__all__ if n != "__version__"] + list(knit.dask.__all__)
    assert [n for n in exported if n not in text] == []


def test_benchmark_plots_are_on_the_site(site):
    html = (site / "benchmarks.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(images) >= 4
    assert [src for src in images if not (site / src).is_file()] == []
