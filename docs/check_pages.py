"""Open every page of the built documentation in a headless browser, offline.

Usage, from the repository root, after building the HTML::

    python docs/check_pages.py docs/_build/html --screenshots docs/_build/screenshots

Each page is opened in headless Chromium (Debian's ``chromium``, or the
browser given by ``--browser``) with a fresh profile and every non-local
request refused, then checked as a reader would see it, after MathJax ran:

- no raw LaTeX in the visible text (``\\[``, ``\\(``, ``\\mathcal``...;
  code blocks excepted): equations are rendered by the bundled MathJax;
- no Graphviz DOT source (``digraph``, ``rankdir=``...) and every image
  loaded: the data-flow diagram is a picture;
- the left sidebar holds navigation links;
- no request to a non-local URL (the page works without network) and no
  local file missing;
- nothing wider than the viewport, and nothing cut off on the right by a
  container that does not scroll (wide tables scroll inside the content
  column);
- no uncaught JavaScript error.

A screenshot of each page goes to the ``--screenshots`` folder (the viewport,
or the whole page with ``--full-page``). The exit status is 1 when a page
fails a check, and every problem is printed. Only the standard library and
the browser are used: the browser is driven through the DevTools protocol
over a pipe (``--remote-debugging-pipe``). This script is not run by CI, which
has no browser; see CONTRIBUTING.md.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    # a name that does not resolve is never looked up on a DNS server
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
# Sphinx's own index pages hold no content of the documentation's
SKIP = {"genindex.html", "search.html", "py-modindex.html"}
# the theme's, Sphinx's and the gallery's files, not pages (_modules: the source pages are)
SKIP_FOLDERS = {"_static", "_sources", "_images", "_downloads"}

# Runs in the page after MathJax typeset it; returns the problems found.
PAGE_CHECKS = r"""
(() => {
  const problems = [];
  const visible = (el) => {
    for (let e = el; e && e !== document; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden") return false;
    }
    return el.getClientRects().length > 0;
  };
  const name = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += "#" + el.id;
    const cls = (el.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean);
    if (cls.length) text += "." + cls.slice(0, 2).join(".");
    return text;
  };
  const excerpt = (text, at) => JSON.stringify(
    text.slice(Math.max(0, at - 30), at + 50).replace(/\s+/g, " "));

  // visible text, outside code blocks and rendered math
  const prose = [];
  const all = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (!parent || parent.closest("script, style, noscript, template")) continue;
    if (!n.textContent.trim() || !visible(parent)) continue;
    all.push(n.textContent);
    if (!parent.closest("pre, code, kbd, samp, mjx-container, .highlight")) {
      prose.push(n.textContent);
    }
  }
  const proseText = prose.join(" ");
  const latex = new RegExp(String.raw`\\[\[\]()]|\\(math[a-z]+|text|frac|sum|hat|begin|end|` +
                           String.raw`left|right|operatorname|cdot|times|lambda|mid|log|exp)\b`);
  const m = latex.exec(proseText);
  if (m) problems.push("raw LaTeX in the visible text: " + excerpt(proseText, m.index));
  const allText = all.join("\n");
  const dot = /\b(di)?graph\s+\w*\s*\{|\brankdir\s*=|\b\w+\s*->\s*\w+\s*\[label=/;
  const d = dot.exec(allText);
  if (d) problems.push("Graphviz DOT source shown: " + excerpt(allText, d.index));

  for (const img of document.images) {
    if (visible(img) && !(img.complete && img.naturalWidth > 0)) {
      problems.push("image not shown: " + img.getAttribute("src"));
    }
  }
  for (const obj of document.querySelectorAll("object[data], embed[src]")) {
    if (visible(obj) && obj.getBoundingClientRect().height < 10) {
      problems.push("embedded picture not shown: " + (obj.data || obj.src));
    }
  }

  // below the theme's 960px breakpoint the left sidebar is a drawer behind a button
  const sidebar = document.querySelector(".bd-sidebar-primary");
  const links = sidebar ? [...sidebar.querySelectorAll("nav a[href]")].filter(visible) : [];
  if (window.innerWidth < 960) {
    // not checked
  } else if (!sidebar || !visible(sidebar) || sidebar.getBoundingClientRect().width < 50) {
    problems.push("no left sidebar");
  } else if (links.length === 0) {
    problems.push("the left sidebar shows no navigation link");
  }

  const root = document.documentElement;
  const vw = root.clientWidth;
  if (root.scrollWidth > vw + 1) {
    problems.push(`the page is ${root.scrollWidth}px wide, the viewport ${vw}px`);
  }
  // an element past the right edge of the nearest ancestor that clips it
  // (overflow hidden / clip), or of the viewport, by more than a glyph's
  // overhang (4px): cut off. Inside an ancestor
  // that scrolls (overflow auto / scroll) it can be scrolled to: fine.
  const LAYOUT = [".bd-main", ".bd-content", ".bd-article-container", ".bd-article",
                  ".bd-container", ".bd-sidebar", ".bd-sidebar-primary",
                  ".bd-sidebar-secondary"].join(", ");
  const clipCache = new Map();
  const clipper = (el) => {
    const path = [];
    let found = null;
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      if (clipCache.has(e)) { found = clipCache.get(e); break; }
      path.push(e);
      const ox = getComputedStyle(e).overflowX;
      if (ox !== "visible") { found = e; break; }
    }
    for (const e of path) clipCache.set(e, found);
    return found;
  };
  const reported = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("mjx-assistive-mml, .visually-hidden, .sr-only")) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) continue;
    const c = clipper(el);
    let limit = vw;
    let by = "the viewport";
    if (c) {
      // the theme's layout boxes scroll too, but nobody scrolls a whole article sideways
      const ox = getComputedStyle(c).overflowX;
      if ((ox === "auto" || ox === "scroll") && !c.matches(LAYOUT)) continue;
      limit = c.getBoundingClientRect().right;
      by = name(c);
    }
    if (r.right > limit + 4 && getComputedStyle(el).position !== "fixed" && visible(el)) {
      const key = by + name(el);
      if (reported.has(key)) continue;
      reported.add(key);
      problems.push(`${name(el)} is cut off on the right by ${by} ` +
                    `(${Math.round(r.right - limit)}px)`);
      if (reported.size >= 5) break;
    }
  }
  // what scrolls sideways (wide tables, long formulas): reported, not a problem
  const scrolls = [];
  for (const el of document.body.querySelectorAll("*")) {
    const ox = getComputedStyle(el).overflowX;
    if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 4 &&
        !el.matches(LAYOUT) && visible(el)) {
      const inner = el.querySelector("table, mjx-container, pre, svg");
      scrolls.push(`${name(el)} (${inner ? name(inner) : "content"}: ` +
                   `${el.scrollWidth - el.clientWidth}px more)`);
    }
  }
  return {problems, scrolls};
})()
"""

# Resolves when MathJax (if the page loads it) has typeset the page.
MATHJAX_DONE = r"""
(async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) await mj.startup.promise;
  if (document.fonts) await document.fonts.ready;
  return Boolean(mj && mj.startup);
})()
"""


class Browser:
    """A headless Chromium driven through the DevTools protocol over a pipe."""

    def __init__(self, executable, width, height, timeout):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="m2s-check-pages-")
        to_browser_r, self._out = os.pipe()  # the browser reads commands on fd 3
        self._in, from_browser_w = os.pipe()  # and writes answers on fd 4

        def child_fds():
            # the ends to fd 3 and 4 (first above 4, so that neither overwrites the other)
            ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 5) for fd in (to_browser_r, from_browser_w)]
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        self.process = subprocess.Popen(
            [
                executable,
                *BROWSER_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_fds,
            close_fds=False,  # fd 3 and 4 stay open (the others are close-on-exec)
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=True)
        # refuse every request that is not to a local file: the build must
        # work offline, and each such request is reported
        self.send(
            "Fetch.enable",
            session=True,
            patterns=[{"urlPattern": "http*"}, {"urlPattern": "ws*"}, {"urlPattern": "ftp*"}],
        )
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("the browser did not answer in time")
            ready, _, _ = select.select([self._in], [], [], 0.5)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed its DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _handle_event(self, message):
        if message.get("method") == "Fetch.requestPaused":
            params = message["params"]
            self.events.append(("blocked", params["request"]["url"]))
            self.send(
                "Fetch.failRequest",
                session=True,
                requestId=params["requestId"],
                errorReason="InternetDisconnected",
                wait=False,
            )
        else:
            self.events.append((message.get("method"), message.get("params", {})))

    def send(self, method, session=False, wait=True, **params):
        """Send a command; return its result (raise on an error)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        if not wait:
            return None
        wanted = self._next_id
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == wanted:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            if "method" in answer:
                self._handle_event(answer)

    def wait_for(self, method, deadline):
        """Handle events until ``method`` arrives (True) or the deadline passes."""
        while time.monotonic() < deadline:
            if any(event[0] == method for event in self.events):
                return True
            try:
                message = self._read_message(min(deadline, time.monotonic() + 0.5))
            except TimeoutError:
                continue
            if "method" in message:
                self._handle_event(message)
        return False

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("text", "script error"))
        return result["result"].get("value")

    def close(self):
        try:
            self.send("Browser.close", wait=False)
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        os.close(self._in)
        os.close(self._out)
        shutil.rmtree(self.profile, ignore_errors=True)


def check_page(browser, path, html_root, shots, full_page, settle):
    """Open ``path``, check it, take its screenshot; return its problems."""
    # every page as a first visit: the theme keeps the sidebar's scroll position and
    # the colour mode in the browser's storage
    browser.evaluate("try { sessionStorage.clear(); localStorage.clear(); } catch (e) {}")
    browser.events = []
    browser.send("Page.navigate", session=True, url=path.as_uri())
    deadline = time.monotonic() + browser.timeout
    problems = []
    if not browser.wait_for("Page.loadEventFired", deadline):
        problems.append("the page did not finish loading")
    browser.evaluate(MATHJAX_DONE)
    time.sleep(settle)
    browser.wait_for("(none)", time.monotonic() + 0.2)  # the events of the settle time
    found = browser.evaluate(PAGE_CHECKS)
    problems += found["problems"]
    for kind, params in browser.events:
        if kind == "blocked":
            problems.append(f"request to a non-local URL: {params}")
        elif kind == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(LOCAL_SCHEMES) and not url.startswith(("http", "ws", "ftp")):
                problems.append(f"request to a non-local URL: {url}")
        elif kind == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"a resource did not load: {params.get('errorText')}")
        elif kind == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"JavaScript error: {text.splitlines()[0]}")
    if shots is not None:
        options = {"format": "png"}
        if full_page:
            size = browser.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
            options.update(
                captureBeyondViewport=True,
                clip={
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": min(size["height"], 8000),
                    "scale": 1,
                },
            )
        data = browser.send("Page.captureScreenshot", session=True, **options)["data"]
        relative = path.relative_to(html_root).with_suffix(".png")
        target = shots / str(relative).replace(os.sep, "__")
        target.write_bytes(base64.b64decode(data))
    return problems, found["scrolls"]


def find_browser(name):
    for candidate in [name] if name else ["chromium", "chromium-browser", "google-chrome"]:
        found = shutil.which(candidate)
        if found:
            return found
    raise SystemExit(
        "no Chromium found: install Debian's `chromium` (apt-get install chromium) "
        "or pass --browser"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built HTML folder (docs/_build/html)")
    parser.add_argument("--screenshots", type=Path, help="folder for one PNG per page")
    parser.add_argument(
        "--full-page",
        action="store_true",
        help="screenshot whole pages (scrollbars inside the page are not drawn then)",
    )
    parser.add_argument("--browser", help="the Chromium executable (default: chromium)")
    parser.add_argument(
        "--width", type=int, default=1280, help="window width (the sidebar is checked from 960)"
    )
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--timeout", type=float, default=60, help="seconds per page")
    parser.add_argument("--settle", type=float, default=0.3, help="seconds after MathJax ran")
    parser.add_argument("pages", nargs="*", help="only these pages (paths under html)")
    args = parser.parse_intermixed_args(argv)

    html_root = args.html.resolve()
    if not (html_root / "index.html").is_file():
        parser.error(f"{args.html} has no index.html: build the documentation first")
    if args.pages:
        pages = [html_root / page for page in args.pages]
    else:
        pages = sorted(
            p
            for p in html_root.rglob("*.html")
            if p.name not in SKIP and p.relative_to(html_root).parts[0] not in SKIP_FOLDERS
        )
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)

    browser = Browser(find_browser(args.browser), args.width, args.height, args.timeout)
    failed = 0
    start = time.monotonic()
    try:
        for page in pages:
            name = page.relative_to(html_root).as_posix()
            problems, scrolls = check_page(
                browser, page, html_root, args.screenshots, args.full_page, args.settle
            )
            if problems:
                failed += 1
                print(f"FAIL {name}")
                for problem in dict.fromkeys(problems):
                    print(f"     {problem}")
            else:
                print(f"ok   {name}")
            for item in scrolls:
                print(f"     note: scrolls sideways: {item}")
            sys.stdout.flush()
    finally:
        browser.close()
    print(
        f"{len(pages) - failed} passed, {failed} failed "
        f"({len(pages)} pages, {time.monotonic() - start:.0f} s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
