"""The tutorial site: it builds with ``mkdocs build --strict``, and in a real browser (Debian's Chromium, driven
by Playwright) every page loads offline, renders its maths, shows its figures, searches and steps through the
backward walkthrough.

The build runs the hook in docs/hooks.py, so it also installs KaTeX with npm and runs every lesson in quick
mode (lesson 7 trains on MNIST, hence the ``mnist_dir`` fixture).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from html import escape as html_escape
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"
# Pages whose figures include a computation graph drawn by Graphviz (an SVG image).
GRAPH_PAGES = ("lessons/02-computation-graph/", "lessons/06-network-graph/")
WALKTHROUGH_PAGE = "lessons/06-network-graph/"
ACCUMULATION_PAGE = "lessons/02-computation-graph/"
# API pages whose module docstrings hold doctest examples (>>>).
DOCTEST_PAGES = ("api/manual/", "api/tensor/", "api/viz/", "api/gradcheck/", "api/compare/", "api/course/")


def lesson_pages() -> list[str]:
    """The site path of every lesson page, from the markdown files (``lessons/01-chain-rule/``...)."""
    return sorted(f"lessons/{p.stem}/" for p in (REPO / "docs" / "lessons").glob("[0-9][0-9]-*.md"))


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """Build the site strictly into a temporary folder, as CI and a student would."""
    if shutil.which("npm") is None and not (REPO / "docs" / "node_modules" / "katex").is_dir():
        reason = "no npm on PATH: the docs build installs KaTeX from the npm registry (Debian: apt-get install npm)"
        if os.environ.get("CI"):  # CI installs npm: there a missing npm is a broken set-up, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    site_dir = tmp_path_factory.mktemp("site")
    env = dict(os.environ, TINYGRAD_EDU_DATA=str(mnist_dir))
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(f"mkdocs build --strict took {time.perf_counter() - started:.1f} s")
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-3000:]}{result.stderr[-6000:]}"
    return site_dir


def test_build_is_strict_and_complete(built_site: Path) -> None:
    for page in ["", "derivations/", "glossary/", "api/", *lesson_pages()]:
        assert (built_site / page / "index.html").is_file(), f"page {page or 'home'} missing from the site"
    # KaTeX and its fonts are shipped inside the site, never fetched from a CDN.
    katex = built_site / "assets" / "katex"
    assert (katex / "katex.min.js").stat().st_size > 100_000
    assert (katex / "contrib" / "auto-render.min.js").is_file()
    assert list((katex / "fonts").glob("KaTeX_Main-Regular.woff2"))
    # Nothing in the pages points at another server for a script, a stylesheet or a font.
    for html in built_site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        for marker in ('src="http', "src='http", 'href="https://fonts', "cdn.jsdelivr", "unpkg.com"):
            assert marker not in text, f"{html.relative_to(built_site)} refers to an outside resource ({marker})"
    # The code on the pages is included from the lesson files, so it is the code that ran.
    lesson_1 = (built_site / "lessons" / "01-chain-rule" / "index.html").read_text(encoding="utf-8")
    assert "f_prime_by_autodiff" in lesson_1
    assert "--8&lt;--" not in lesson_1 and "--8<--" not in lesson_1


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path):
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright drives the browser: pip install -e '.[dev]'")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH: install Debian's chromium package (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Visit:
    """One page opened in a fresh browser context that records console errors and every request."""

    def __init__(self, browser, url: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        # A desktop-sized window, where Material shows the navigation tabs and the search box.
        self.context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(url, wait_until="load")
        # Every image (figures, graph SVGs) finished loading, one way or the other.
        self.page.wait_for_function("Array.from(document.images).every(image => image.complete)")

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self) -> None:
        self.context.close()

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left {LOCAL_HOST}: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"

    def images(self) -> list[dict]:
        return self.page.eval_on_selector_all(
            "article img",
            "images => images.map(i => ({src: i.getAttribute('src'), width: i.naturalWidth, hidden: !!i.closest('[hidden]')}))",
        )

    def wide_display_maths(self) -> list[str]:
        """The display equations wider than the text column they sit in (they would be cut off or scroll)."""
        return self.page.eval_on_selector_all(
            "article .katex-display",
            """displays => displays.filter(d => d.querySelector('.katex').scrollWidth > d.clientWidth + 1)
                .map(d => `${d.querySelector('.katex').scrollWidth} px in ${d.clientWidth} px: ${d.textContent.slice(0, 60)}`)""",
        )

    def doctest_prose(self) -> list[str]:
        """Docstring examples (``>>>``) rendered as text instead of code blocks."""
        return self.page.eval_on_selector_all(
            "article p, article blockquote, article li",
            "nodes => nodes.filter(n => n.textContent.includes('>>>') || n.closest('blockquote blockquote'))"
            ".map(n => n.textContent.slice(0, 80))",
        )

    def screenshot(self, name: str) -> None:
        folder = os.environ.get("TINYGRAD_EDU_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name.strip('/').replace('/', '_') or 'home'}.png"), full_page=True)


@pytest.fixture
def visit(browser, site_url):
    opened: list[Visit] = []

    def open_page(path: str) -> Visit:
        opened.append(Visit(browser, site_url + path))
        return opened[-1]

    yield open_page
    for page in opened:
        page.close()


@pytest.mark.parametrize("path", lesson_pages())
def test_lesson_page_in_browser(visit, path: str) -> None:
    page = visit(path)
    page.screenshot(path)
    page.assert_clean()
    # Maths rendered by KaTeX, without a parse error.
    assert page.page.locator(".arithmatex .katex").count() > 0, "no maths rendered by KaTeX"
    assert page.page.locator(".katex-error").count() == 0
    # Figures from the lessons are displayed (a decoded image has a natural width).
    figures = [image for image in page.images() if "generated/" in (image["src"] or "")]
    assert figures, "no figure made by the lesson on the page"
    broken = [image["src"] for image in figures if image["width"] == 0 and not image["hidden"]]
    assert broken == [], f"figures that did not load: {broken}"
    if path in GRAPH_PAGES:
        graphs = [image for image in figures if image["src"].endswith(".svg") and image["width"] > 0]
        assert graphs, "no graph SVG displayed"
    # The code shown is included from the lesson script (a code block with a copy button).
    assert page.page.locator("article .highlight code").count() > 0
    # At 1280 px every display equation fits the text column (long ones are split into aligned lines).
    assert page.wide_display_maths() == []


def api_pages() -> list[str]:
    return sorted(f"api/{p.stem}/" for p in (REPO / "docs" / "api").glob("*.md") if p.stem != "index")


@pytest.mark.parametrize("path", ["", "lessons/", "derivations/", "glossary/", "what-next/", "teachers/", "api/",
                                  *api_pages()])
def test_other_pages_in_browser(visit, path: str) -> None:
    page = visit(path)
    page.screenshot(path)
    page.assert_clean()
    assert page.page.locator(".katex-error").count() == 0
    if path == "derivations/":
        assert page.page.locator(".arithmatex .katex").count() > 30
    assert page.wide_display_maths() == []
    if path in api_pages():
        # Doctest examples are code blocks (docs/griffe_examples.py), not nested blockquotes of run-on text.
        assert page.doctest_prose() == []
        if path in DOCTEST_PAGES:
            examples = page.page.eval_on_selector_all("article pre code", "codes => codes.filter(c => c.textContent.includes('>>> ')).length")
            assert examples > 0, "the module's docstring examples are not shown as code"
        assert page.page.locator(".doc-heading").count() > 3, "no API entries generated from the docstrings"
        # The docstrings' reStructuredText roles are rewritten (docs/hooks.py), not shown raw.
        text = page.page.inner_text("article")
        assert ":class:" not in text and ":func:" not in text and ".. math::" not in text


def test_search_finds_a_lesson(visit) -> None:
    page = visit("")
    page.page.click("input.md-search__input")
    # The search index is built in a web worker; until then the results box says "Initializing search".
    page.page.wait_for_function(
        "document.querySelector('.md-search-result__meta') &&"
        " !/initializing/i.test(document.querySelector('.md-search-result__meta').textContent)",
        timeout=30_000,
    )
    # Typed key by key, as a reader does (Material searches on key events).
    page.page.locator("input.md-search__input").press_sequentially("softmax", delay=30)
    result = page.page.wait_for_selector(".md-search-result__item", timeout=15_000)
    assert result is not None
    assert "softmax" in page.page.inner_text(".md-search-result").lower()
    links = page.page.eval_on_selector_all(".md-search-result__item a", "links => links.map(a => a.href)")
    assert any("lessons/04-forward-pass/" in link for link in links), links
    page.assert_clean()


def test_walkthrough_steps_through_frames(visit) -> None:
    page = visit(WALKTHROUGH_PAGE)
    shown = "document.querySelector('.walkthrough-frame:not([hidden]) img').getAttribute('src')"
    counter = page.page.locator(".walkthrough-counter")
    first = page.page.evaluate(shown)
    assert counter.inner_text().startswith("Step 1 of ")
    total = int(counter.inner_text().rsplit(" ", 1)[1])
    assert total > 2
    assert page.page.locator(".walkthrough-prev").is_disabled()
    page.page.click(".walkthrough-next")
    second = page.page.evaluate(shown)
    assert second != first, "the next button did not change the frame"
    assert counter.inner_text() == f"Step 2 of {total}"
    assert page.page.evaluate("document.querySelector('.walkthrough-frame:not([hidden]) img').naturalWidth") > 0
    page.page.click(".walkthrough-prev")
    assert page.page.evaluate(shown) == first
    page.assert_clean()


# The labels of the graph node drawn for the tensor named x, in the frame shown (the frames are SVG images).
X_NODE_LABEL = """async () => {
    const src = document.querySelector('.walkthrough-frame:not([hidden]) img').src;
    const svg = new DOMParser().parseFromString(await (await fetch(src)).text(), 'image/svg+xml');
    for (const node of svg.querySelectorAll('g.node')) {
        const lines = Array.from(node.querySelectorAll('text')).map(t => t.textContent);
        if (lines[0] === 'x') return lines.join(' | ');
    }
    return null;
}"""


def test_walkthrough_shows_partial_gradients_as_they_accumulate(visit) -> None:
    """Lesson 2, L = (x y)(x + y) at x = 3, y = 2: x's gradient has two terms, 6 through v = x + y and 10
    through u = x y. The stepper must show the partial sum 6, marked partial, before the complete 16."""
    page = visit(ACCUMULATION_PAGE)
    total = int(page.page.locator(".walkthrough-counter").inner_text().rsplit(" ", 1)[1])
    labels = []
    for step in range(total):
        labels.append(page.page.evaluate(X_NODE_LABEL))
        if step < total - 1:
            page.page.click(".walkthrough-next")
    partial = [i for i, label in enumerate(labels) if label and "partial grad (1 of 2 uses) 6" in label]
    complete = [i for i, label in enumerate(labels) if label and label.endswith("grad 16")]
    assert partial and complete, labels
    assert max(partial) < min(complete), labels
    assert labels[0] is not None and "grad" not in labels[0], "x has no gradient before any rule reached it"
    page.assert_clean()


def test_walkthrough_controls_stay_in_view(visit) -> None:
    """Lesson 6's frames are taller than a screen: scrolled to a frame's bottom, Next is still on screen."""
    page = visit(WALKTHROUGH_PAGE)
    page.page.click(".walkthrough-next")
    frame = page.page.locator(".walkthrough-frame:not([hidden]) img")
    assert frame.bounding_box()["height"] > page.page.viewport_size["height"], "the frame fits a screen: nothing to test"
    frame.evaluate("image => image.scrollIntoView({block: 'end'})")
    page.page.wait_for_timeout(200)
    box = page.page.locator(".walkthrough-next").bounding_box()
    viewport = page.page.viewport_size
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], box
    page.page.click(".walkthrough-next")  # clickable where it is
    assert page.page.locator(".walkthrough-counter").inner_text().startswith("Step 3 of ")


def test_glossary_terms_show_their_definition(visit) -> None:
    page = visit("derivations/")
    titles = page.page.eval_on_selector_all("article abbr", "terms => terms.map(t => [t.textContent, t.title])")
    terms = {term: title for term, title in titles}
    assert "Jacobian" in terms and "vector-Jacobian product" in terms, sorted(terms)
    assert terms["Jacobian"].startswith("The matrix of every partial derivative")
    # No glossary markup inside the maths (KaTeX renders it; a stray tag would be a parse error).
    assert page.page.locator(".arithmatex abbr").count() == 0
    glossary = visit("glossary/")
    rows = glossary.page.locator("article table tbody tr")
    assert rows.count() >= 20
    assert "reverse mode" in glossary.page.inner_text("article table").lower()
    glossary.assert_clean()


def test_palette_toggle_switches_to_dark(visit) -> None:
    page = visit("")
    before = page.page.get_attribute("body", "data-md-color-scheme")
    page.page.click("form[data-md-component='palette'] label:visible")
    after = page.page.get_attribute("body", "data-md-color-scheme")
    assert {before, after} == {"default", "slate"}
    page.assert_clean()


def load_hooks():
    """docs/hooks.py, imported as a module (MkDocs loads it by path, it is not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_rst_becomes_maths_and_names() -> None:
    hooks = load_hooks()
    html = (
        "<p>See :class:<code>~tinygrad_edu.tensor.Tensor</code> and :func:<code>tinygrad_edu.manual.forward</code>;"
        " the loss is :math:<code>-\\log p_y</code>.</p>\n<p>.. math::\n    L = \\frac{1}{N}</p>"
        "\n<p>one example per row::</p>"
    )
    assert hooks.docstring_rst_to_html(html) == (
        "<p>See <code>Tensor</code> and <code>tinygrad_edu.manual.forward</code>;"
        ' the loss is <span class="arithmatex">\\(-\\log p_y\\)</span>.</p>\n'
        '<div class="arithmatex">\\[L = \\frac{1}{N}\\]</div>'
        "\n<p>one example per row:</p>"
    )


def test_lesson_outputs_are_named_after_the_lesson_number() -> None:
    hooks = load_hooks()
    scripts = hooks.lesson_scripts()
    assert [s.name[:2] for s in scripts] == [f"{n:02d}" for n in range(1, len(scripts) + 1)]
    assert hooks.lesson_output_dir(REPO / "lessons" / "07_training_mnist.py") == REPO / "docs" / "generated" / "lesson-07"
    # Each lesson has its page, and each page includes what its lesson printed.
    for script in scripts:
        pages = list((REPO / "docs" / "lessons").glob(f"{script.name[:2]}-*.md"))
        assert len(pages) == 1, f"no page (or several) for {script.name}"
        assert f"docs/generated/lesson-{script.name[:2]}/output.txt" in pages[0].read_text()


def test_every_lesson_notebook_is_on_the_site_and_linked_under_the_title(built_site: Path) -> None:
    from tinygrad_edu.course.notebooks import lesson_notebook

    hooks = load_hooks()
    for script in hooks.lesson_scripts():
        notebook = built_site / "notebooks" / f"{script.stem}.ipynb"
        assert notebook.is_file(), f"the site has no notebook for {script.name}"
        assert notebook.read_text(encoding="utf-8") == lesson_notebook(script)  # made from the script, this build
        [page] = (REPO / "docs" / "lessons").glob(f"{script.name[:2]}-*.md")
        html = (built_site / "lessons" / page.stem / "index.html").read_text(encoding="utf-8")
        article = html[html.index("<h1"):]
        first_paragraph = article[article.index("<p>"):article.index("</p>")]
        assert f'href="../../notebooks/{script.stem}.ipynb"' in first_paragraph, page.name
        assert "Download this lesson as a notebook" in first_paragraph


def test_notebook_downloads_from_its_lesson_page(visit) -> None:
    page = visit("lessons/01-chain-rule/")
    with page.page.expect_download() as download_info:
        page.page.get_by_role("link", name="Download this lesson as a notebook").click()
    download = download_info.value
    assert download.suggested_filename == "01_chain_rule.ipynb"
    notebook = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4 and notebook["metadata"]["kernelspec"]["name"] == "python3"
    page.assert_clean()


def test_pages_quote_the_numbers_of_the_build_s_own_runs(built_site: Path) -> None:
    """``[[lesson-NN:name]]`` on a page becomes the number that lesson recorded in the build's run."""
    placeholder = re.compile(r"\[\[(lesson-\d\d):(\w+)\]\]")
    quoted = 0
    for page in sorted((REPO / "docs" / "lessons").glob("[0-9][0-9]-*.md")):
        html = (built_site / "lessons" / page.stem / "index.html").read_text(encoding="utf-8")
        assert "[[lesson-" not in html, f"{page.name}: a number placeholder was left on the page"
        for lesson, name in placeholder.findall(page.read_text()):
            numbers = json.loads((REPO / "docs" / "generated" / lesson / "numbers.json").read_text())
            assert html_escape(numbers[name]) in html, f"{page.name}: {lesson}:{name} = {numbers[name]!r} not shown"
            quoted += 1
    assert quoted >= 40  # lessons 1, 4, 5, 7 and 8 quote their runs


# --- Readable everywhere: the layout at a desktop's and a phone's width (issue 19) ---------------------------

LAYOUT_WIDTHS = {"desktop": 1280, "phone": 390}
STEPPER_PAGES = (WALKTHROUGH_PAGE, ACCUMULATION_PAGE)


def open_at_width(browser, url: str, width: int):
    """A page in a fresh context of the given width; a phone's is a touch screen, as Material expects."""
    phone = width < 600
    context = browser.new_context(service_workers="block", viewport={"width": width, "height": 844 if phone else 900},
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_function("Array.from(document.images).every(image => image.complete)")
    return context, page


# What is wider than its box, with every collapsed block ("Reveal the derivation") opened first: display maths
# at any width; code and program output on a desktop, where they wrap (on a phone they scroll sideways).
OVERFLOWING = """(checkCode) => {
    document.querySelectorAll('article details').forEach(d => { d.open = true; });
    const wide = [];
    for (const display of document.querySelectorAll('article .katex-display')) {
        const maths = display.querySelector('.katex');
        if (maths && display.clientWidth > 0 && maths.scrollWidth > display.clientWidth + 1)
            wide.push(`equation ${maths.scrollWidth} px in ${display.clientWidth} px: ${display.textContent.slice(0, 50)}`);
    }
    if (checkCode) for (const code of document.querySelectorAll('article pre > code')) {
        if (code.clientWidth > 0 && code.scrollWidth > code.clientWidth + 1)
            wide.push(`code ${code.scrollWidth} px in ${code.clientWidth} px: ${code.textContent.slice(0, 50)}`);
    }
    return wide;
}"""


@pytest.mark.slow
@pytest.mark.parametrize("device", LAYOUT_WIDTHS)
@pytest.mark.parametrize("path", ["", "derivations/", "glossary/", "exercises/", *lesson_pages()])
def test_nothing_is_cut_off_at_a_desktop_or_a_phone_width(browser, site_url, path: str, device: str) -> None:
    context, page = open_at_width(browser, site_url + path, LAYOUT_WIDTHS[device])
    try:
        assert page.locator(".katex-error").count() == 0
        assert page.evaluate(OVERFLOWING, device == "desktop") == []
        # Nothing makes the whole page scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= LAYOUT_WIDTHS[device]
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("path", STEPPER_PAGES)
def test_stepper_reads_on_a_phone(browser, site_url, path: str) -> None:
    """At 390 px a frame keeps most of its natural size (node text near 10 px, not 5) and scrolls sideways
    inside the stepper; the controls sit on one row and stay on screen while a tall frame is scrolled."""
    context, page = open_at_width(browser, site_url + path, LAYOUT_WIDTHS["phone"])
    try:
        assert page.locator(".walkthrough-legend span").count() >= 5, "the legend is drawn once above the frames"
        page.locator(".walkthrough-next").tap()
        assert page.locator(".walkthrough-counter").inner_text().startswith("Step 2 of ")
        # The operation whose rule runs is scrolled into the visible part of the (wider than the screen) frame.
        page.wait_for_function("""() => {
            const frame = document.querySelector('.walkthrough-frame:not([hidden])');
            const image = frame.querySelector('img');
            if (!image.dataset.activeX) return false;
            const x = Number(image.dataset.activeX) * image.clientWidth;
            return frame.scrollLeft <= x && x <= frame.scrollLeft + frame.clientWidth;
        }""", timeout=5_000)
        frame = page.locator(".walkthrough-frame:not([hidden]) img")
        scale = frame.evaluate("image => image.getBoundingClientRect().width / image.naturalWidth")
        assert scale >= 0.7, f"the frame is shown at {scale:.2f} of its natural size: its text is too small"
        boxes = [page.locator(selector).bounding_box() for selector in
                 (".walkthrough-prev", ".walkthrough-slider", ".walkthrough-next")]
        assert max(box["y"] for box in boxes) - min(box["y"] for box in boxes) < 10, f"controls on several rows: {boxes}"
        assert all(box["x"] + box["width"] <= LAYOUT_WIDTHS["phone"] for box in boxes), boxes
        frame.evaluate("image => image.scrollIntoView({block: 'end'})")
        page.wait_for_timeout(200)
        button = page.locator(".walkthrough-next").bounding_box()
        assert 0 <= button["y"] and button["y"] + button["height"] <= 844, button
    finally:
        context.close()


@pytest.mark.slow
def test_glossary_definition_shows_on_tap(browser, site_url) -> None:
    """A phone has no hover: tapping a glossary term opens Material's tooltip with its definition."""
    context, page = open_at_width(browser, site_url + "derivations/", LAYOUT_WIDTHS["phone"])
    try:
        term = page.locator("article abbr").filter(has_text="Jacobian").first
        term.scroll_into_view_if_needed()
        term.tap()
        tooltip = page.locator(".md-tooltip2--active")
        tooltip.wait_for(state="visible", timeout=5_000)
        assert tooltip.inner_text().startswith("The matrix of every partial derivative")
        box = tooltip.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= LAYOUT_WIDTHS["phone"]
    finally:
        context.close()


def graph_node_labels(svg: Path) -> dict[str, str]:
    """The text lines of each node of a Graphviz SVG, keyed by the first line (the tensor's name)."""
    import xml.etree.ElementTree as ElementTree

    namespace = {"svg": "http://www.w3.org/2000/svg"}
    labels = {}
    for node in ElementTree.parse(svg).getroot().iterfind(".//svg:g[@class='node']", namespace):
        lines = [text.text or "" for text in node.iterfind("svg:text", namespace)]
        if lines:
            labels[lines[0]] = " | ".join(lines)
    return labels


@pytest.mark.slow
def test_figures_show_the_gradients_the_pages_describe(built_site: Path) -> None:
    # Lesson 2's last graph: L's own gradient, 1, where backward starts; x's 16 and y's 21.
    labels = graph_node_labels(built_site / "generated" / "lesson-02" / "graph-backward.svg")
    assert labels["L"].endswith("grad 1"), labels["L"]
    assert labels["x"].endswith("grad 16") and labels["y"].endswith("grad 21"), labels
    # The derivations page's circuit of one layer: forward values and gradients on the wires, which the page
    # reads out (z = [1.1, -1.8], the dead second unit passes 0, dx = [0.5, -0.25]).
    circuit = graph_node_labels(built_site / "generated" / "lesson-06" / "layer-circuit.svg")
    assert "data [[1.1, -1.8]]" in circuit["z = x W + b"] and circuit["z = x W + b"].endswith("grad [[1, 0]]")
    assert circuit["x"].endswith("grad [[0.5, -0.25]]") and circuit["L (stand-in)"].endswith("grad 1")
    html = (built_site / "derivations" / "index.html").read_text(encoding="utf-8")
    assert "generated/lesson-06/layer-circuit.svg" in html
