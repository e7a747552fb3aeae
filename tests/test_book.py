"""The published course, as a reader's browser sees it.

Builds the book in fast mode (`SGN_FAST=1 python notebooks/book/build.py`; or reads an existing build from
$SGN_BOOK_HTML), serves it on 127.0.0.1 and opens every page in Debian's headless Chromium through
Selenium and /usr/bin/chromedriver (no browser download). On every page: images load (naturalWidth > 0),
audio elements have a source that decodes, internal links resolve (file and #anchor), and the browser
console shows no error. The notebook pages must show figures, and lessons 01–05 audio players.

Time: the fast-mode build executes every notebook once — 1727 s and 2158 s here, on a 2-core CPU under a load average of
≈ 10 from other jobs' trainings (the notebooks alone took ≈ 525 s when run one by one under a similar load);
the browser pass over the 10 pages took 12–20 s.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
LESSONS_WITH_AUDIO = ("01_", "02_", "03_", "04_", "05_", "07_", "08_")
CHROME_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--window-size=1280,1000")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def book_html(tmp_path_factory) -> Path:
    given = os.environ.get("SGN_BOOK_HTML")
    if given:
        html = Path(given)
        assert (html / "index.html").is_file(), f"$SGN_BOOK_HTML={given} has no index.html"
        return html
    out = tmp_path_factory.mktemp("book")
    env = {**os.environ, "SGN_FAST": "1"}   # the course data cache is the usual one (shared with the notebook tests)
    cmd = [sys.executable, str(ROOT / "notebooks" / "book" / "build.py"), "--out", str(out)]
    if os.environ.get("SGN_EXECUTED_NOTEBOOKS"):  # make test: nbval has just executed every notebook (fast mode)
        cmd += ["--executed", os.environ["SGN_EXECUTED_NOTEBOOKS"]]
    t0 = time.time()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    assert res.returncode == 0, f"the book did not build:\n{res.stdout[-3000:]}\n{res.stderr[-6000:]}"
    executed = re.findall(r"^book: executed (\S+) +[0-9.]+ s  ok$", res.stdout, flags=re.M)
    executed += re.findall(r"^book: reused (\S+) \(executed by nbval\)$", res.stdout, flags=re.M)
    assert sorted(executed) == sorted(nb.stem for nb in (ROOT / "notebooks").glob("*.ipynb")), res.stdout[-3000:]
    print(f"fast-mode book built in {time.time() - t0:.0f} s")
    print("\n".join(line for line in res.stdout.splitlines() if line.startswith("book: executed")))
    return out / "html"


@pytest.fixture(scope="module")
def server(book_html):
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on stderr
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (*CHROME_ARGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _pages(html: Path) -> list[Path]:
    skip = ("_static", "_sources", "_images", "_downloads")
    return sorted(p for p in html.rglob("*.html") if p.relative_to(html).parts[0] not in skip)


@functools.lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))


def _wait(driver, script: str, timeout: float = 30.0):
    end = time.time() + timeout
    while True:
        value = driver.execute_script(script)
        if value or time.time() > end:
            return value
        time.sleep(0.2)


def test_the_book_has_every_notebook_the_readme_and_the_api(book_html):
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (book_html / f"{nb.stem}.html").is_file(), f"no page for {nb.name}"
    readme = (book_html / "readme.html").read_text(encoding="utf-8")
    assert readme.count("<table") >= 3, "the README's tables are missing"
    api = (book_html / "api.html").read_text(encoding="utf-8")
    for obj in ("sgn_teach.signal.spectral.warp", "sgn_teach.hub.shipped.shipped_checkpoint",
                "sgn_teach.course.notebooks.REPO_URL"):
        assert f'id="{obj}"' in api, f"{obj} is not in the API reference"


def test_every_page_in_a_real_browser(book_html, server, browser):
    problems: list[str] = []
    pages = _pages(book_html)
    assert len(pages) >= 8
    for page in pages:
        rel = page.relative_to(book_html).as_posix()
        browser.get(f"{server}/{rel}")
        _wait(browser, "return document.readyState === 'complete'")
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        # images: every <img> finished loading and has pixels
        _wait(browser, "return Array.from(document.images).every(i => i.complete)")
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.naturalWidth])")
        problems += [f"{rel}: image {src[:80]} did not load" for src, width in images if not width]
        # audio: every player has a source, and the browser decodes it (metadata loaded, duration > 0)
        audio = browser.execute_script(
            "return Array.from(document.querySelectorAll('audio')).map(a => "
            "{a.preload = 'metadata'; if (a.readyState < 1) a.load(); "
            "return a.src || (a.querySelector('source[src]') || {}).src || ''})")
        problems += [f"{rel}: audio element {k} has no source" for k, src in enumerate(audio) if not src]
        if audio:
            ok = _wait(browser, "return Array.from(document.querySelectorAll('audio'))"
                                ".every(a => a.readyState >= 1 && a.duration > 0)", timeout=60)
            if not ok:
                bad = browser.execute_script("return Array.from(document.querySelectorAll('audio'))"
                                             ".map((a, k) => [k, a.readyState, a.duration, a.error && a.error.code])"
                                             ".filter(x => !(x[1] >= 1 && x[2] > 0))")
                problems.append(f"{rel}: audio that does not decode (index, readyState, duration, error): {bad[:5]}")
        if re.match(r"\d\d_", page.name):
            if not images:
                problems.append(f"{rel}: a lesson page without a single figure")
            if page.name.startswith(LESSONS_WITH_AUDIO) and not audio:
                problems.append(f"{rel}: a lesson page without an audio player")
        # internal links: the file exists and so does the #anchor
        hrefs = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        for href in hrefs:
            if not href.startswith(server):
                continue
            url, frag = urldefrag(href)
            target = book_html / unquote(urlparse(url).path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{rel}: broken link {href}")
            elif frag and target.suffix == ".html" and unquote(frag) not in _ids(target):
                problems.append(f"{rel}: link to a missing anchor {href}")
        # the console: no errors (failed loads, JavaScript exceptions, MathJax errors)
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{rel}: console error: {entry['message'][:300]}")
    assert not problems, f"{len(problems)} problems on {len(pages)} pages:\n" + "\n".join(problems[:60])


def test_chromium_is_debians(browser):
    # the browser the test drives is the system's, not one Selenium downloaded
    assert browser.capabilities["browserName"] in ("chrome", "chromium")
    assert Path(shutil.which("chromedriver") or CHROMEDRIVER) == CHROMEDRIVER
