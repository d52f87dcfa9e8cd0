"""The book as a reader sees it: every page of the built book opened in headless Chromium, offline.

Chromium is driven through its DevTools protocol (a websocket; no webdriver needed). Every request
that would leave the machine goes to a closed proxy port, so a page that needs the network (a CDN
MathJax, a remote script or font) fails here with a console error. For each page the test checks:
every equation typeset by MathJax (and no raw ``\\(`` or ``\\[`` left in the visible text), every
image loaded (``naturalWidth > 0``), no console errors or uncaught exceptions; the results appendix
has a row for every chapter. It saves a full-page screenshot of every page under
``_build/screenshots/`` of the book it checks, for people to look at.

The book is the smoke-budget build of tests/conftest.py, or the one in ``$COURSE_BOOK_HTML``.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
MISSING = "Chromium is not installed; install it with: apt-get update && apt-get install -y chromium"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason=MISSING)]

WIDTH = 1280
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium's limit for one capture; longer pages are cut there


def toc_pages():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]


def chapter_names():
    return [f.split("/")[-1] for f in toc_pages()
            if (REPO / f"{f}.ipynb").exists() and not f.endswith("/results")]


class Chromium:
    """A headless Chromium and one tab, spoken to over the DevTools protocol."""

    def __init__(self):
        import websocket

        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
             # offline: everything but file:// goes to a closed port
             "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             f"--window-size={WIDTH},1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        from urllib.request import urlopen

        for _ in range(50):
            try:
                targets = json.load(urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                time.sleep(0.1)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, event, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(e.get("method") == event for e in self.events):
                return
            self.ws.settimeout(max(0.1, deadline - time.time()))
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(event)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def errors(self):
        """Console errors, uncaught exceptions and failed loads since the page was opened."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append("exception: " + params["exceptionDetails"].get("exception", {}).get(
                    "description", params["exceptionDetails"].get("text", "")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                        for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"{params['entry'].get('source')}: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found

    def screenshot(self, path: Path):
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = int(min(size["height"], MAX_SCREENSHOT_HEIGHT))
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height, deviceScaleFactor=1, mobile=False)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))
        self.call("Emulation.clearDeviceMetricsOverride")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


# Runs in the page once it has loaded: waits for MathJax and the images, then reports.
INSPECT = r"""
(async () => {
  const waitFor = async (test, ms) => { const end = Date.now() + ms;
    while (!test() && Date.now() < end) await new Promise(r => setTimeout(r, 50)); };
  const mathNodes = () => [...document.querySelectorAll('.math, span.math, div.math')];
  if (mathNodes().length) {
    await waitFor(() => window.MathJax && MathJax.startup && MathJax.startup.promise, 20000);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
  const skip = el => el.closest('pre, code, script, style, textarea, mjx-container, mjx-assistive-mml');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    if (/\\\(|\\\[|\\begin\{|\$\$/.test(t) && !skip(n.parentElement)) raw.push(t.trim().slice(0, 120));
  }
  const math = mathNodes().filter(el => !el.parentElement.closest('.math'));
  return {
    math: math.length,
    untypeset: math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.trim().slice(0, 80)),
    mathjaxErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(el =>
        el.getAttribute('data-mjx-error') || el.textContent.slice(0, 80)),
    raw,
    images: document.images.length,
    broken: [...document.images].filter(img => !(img.naturalWidth > 0)).map(img => img.getAttribute('src')),
    tableCells: [...document.querySelectorAll('table td, table th')].map(td => td.textContent.trim()),
  };
})()
"""


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def pages(built_book, screenshot_dir, browser):
    """What the browser saw on every page of the table of contents (and a screenshot of each)."""
    seen = {}
    for page in toc_pages():
        path = built_book / f"{page}.html"
        assert path.exists(), f"{path} missing from the build"
        browser.open(path.as_uri())
        report = browser.evaluate(INSPECT)
        report["errors"] = browser.errors()
        browser.screenshot(screenshot_dir / (page.replace("/", "_") + ".png"))
        seen[page] = report
    return seen


def test_every_equation_is_typeset(pages):
    problems = {p: {k: r[k] for k in ("untypeset", "mathjaxErrors", "raw") if r[k]} for p, r in pages.items()}
    problems = {p: v for p, v in problems.items() if v}
    assert not problems, f"maths not rendered: {json.dumps(problems, indent=1)[:4000]}"
    assert sum(r["math"] for r in pages.values()) > 20, "the book should have equations (is the check blind?)"


def test_every_image_loads(pages):
    broken = {p: r["broken"] for p, r in pages.items() if r["broken"]}
    assert not broken, f"images that did not load: {broken}"
    for chapter in (p for p in pages if (REPO / f"{p}.ipynb").exists() and not p.endswith("/results")):
        assert pages[chapter]["images"] >= 3, f"{chapter}: expected its figures, found {pages[chapter]['images']} images"


def test_no_console_errors(pages):
    errors = {p: r["errors"] for p, r in pages.items() if r["errors"]}
    assert not errors, f"console errors (or requests to the network): {json.dumps(errors, indent=1)[:4000]}"


def test_results_table_has_a_row_for_every_chapter(pages):
    results = next(r for p, r in pages.items() if p.endswith("/results"))
    cells = set(results["tableCells"])
    missing = [c for c in chapter_names() if c not in cells]
    assert not missing, f"the results appendix has no table row for {missing}"


def test_screenshots_saved(pages, screenshot_dir):
    for page in pages:
        shot = screenshot_dir / (page.replace("/", "_") + ".png")
        assert shot.exists() and shot.stat().st_size > 10_000, f"{shot}: missing or empty"
