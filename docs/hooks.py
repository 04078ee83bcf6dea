"""Build steps of the tutorial site, run by MkDocs (``hooks:`` in mkdocs.yml).

1. KaTeX renders the maths in the reader's browser with no outside request. It is installed from the npm
   registry into ``docs/node_modules`` (pinned by ``docs/package.json`` and ``docs/package-lock.json``) the
   first time the site is built, and its files are added to the site under ``assets/katex/``.
2. Every lesson runs in quick mode, as a student would run it; what it prints and the figures it saves land in
   ``docs/generated/lesson-NN/``, which the pages show. A lesson runs again only when it or the package
   changed (a stamp of their contents), so ``mkdocs serve`` stays quick and reloads when a lesson changes.
   What ``tinygrad-edu exercise check`` prints for a few wrong submissions lands in
   ``docs/generated/exercises/`` (:data:`EXERCISE_EXAMPLES`), which the Exercises page includes.
3. A line ``<!-- walkthrough: generated/lesson-NN/FOLDER -->`` in a page becomes a step-through of the SVG
   frames in that folder (``docs/javascripts/walkthrough.js`` adds the previous/next buttons and the slider),
   and ``[[lesson-NN:name]]`` becomes a number the lesson recorded in its run (``numbers.json``).
4. Every lesson script (percent format) becomes a Jupyter notebook on the site, ``notebooks/<script name>.ipynb``
   (made by :mod:`tinygrad_edu.course.notebooks`, as ``tinygrad-edu notebooks`` makes them in a clone); each lesson
   page links to its own.
5. The glossary: ``docs/glossary-terms.md`` holds one ``*[term]: definition`` line per term (abbreviations,
   appended to every page by pymdownx.snippets, so a term shows its definition on hover wherever it is used);
   the line ``<!-- glossary -->`` of ``docs/glossary.md`` becomes the table of those definitions.
6. On the API reference pages, the reStructuredText the docstrings use inside their Google-style sections
   (``:math:`...```, ``.. math::`` blocks, ``:class:`~pkg.Name``` cross-references) is turned into maths that
   KaTeX renders and into plain code names, instead of showing as raw markup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.tinygrad_edu")

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
GENERATED = DOCS / "generated"
LESSONS = REPO / "lessons"
PACKAGE = REPO / "tinygrad_edu"
KATEX = DOCS / "node_modules" / "katex"
# Paths inside KaTeX's dist/ folder that the site needs, and where mkdocs.yml expects them.
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")
KATEX_SITE_DIR = "assets/katex"
WALKTHROUGH = re.compile(r"^<!-- walkthrough: (?P<folder>\S+) -->$", re.MULTILINE)
FRAME_GLOB = "*.svg"  # the frames of a walkthrough, in the order of their names (step_001.svg, ...)
LESSON_TIMEOUT_S = 600


# --- 1. KaTeX -------------------------------------------------------------------------------------------


def _pinned_katex_version() -> str:
    return json.loads((DOCS / "package.json").read_text())["dependencies"]["katex"]


def _installed_katex_version() -> str | None:
    manifest = KATEX / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text()).get("version")


def ensure_katex() -> None:
    """Install the pinned KaTeX into docs/node_modules with npm, unless it is already there."""
    wanted = _pinned_katex_version()
    if _installed_katex_version() == wanted and all((KATEX / "dist" / name).is_file() for name in KATEX_FILES):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise PluginError(
            "The site renders its maths with KaTeX, installed from the npm registry at build time, "
            "but `npm` is not on PATH. Install Node.js and npm (Debian: apt-get install npm), then build again."
        )
    command = [npm, "ci" if (DOCS / "package-lock.json").is_file() else "install", "--no-audit", "--no-fund"]
    log.info("Installing KaTeX %s into docs/node_modules: %s", wanted, " ".join(command[1:]))
    result = subprocess.run(command, cwd=DOCS, capture_output=True, text=True)
    if result.returncode != 0 or _installed_katex_version() != wanted:
        raise PluginError(
            f"`npm {command[1]}` in {DOCS} did not install katex {wanted} (exit {result.returncode}):\n"
            f"{result.stderr[-2000:]}"
        )


def katex_site_files(config: MkDocsConfig) -> list[File]:
    """KaTeX's script, stylesheet, auto-render extension and fonts, as files of the site."""
    dist = KATEX / "dist"
    names = list(KATEX_FILES) + sorted(p.relative_to(dist).as_posix() for p in (dist / "fonts").iterdir())
    return [
        File.generated(config, f"{KATEX_SITE_DIR}/{name}", abs_src_path=str(dist / name)) for name in names
    ]


# --- 2. Lesson outputs ----------------------------------------------------------------------------------


def lesson_scripts() -> list[Path]:
    """The numbered lesson scripts, in order."""
    return sorted(LESSONS.glob("[0-9][0-9]_*.py"))


def lesson_output_dir(script: Path) -> Path:
    """``lessons/07_training_mnist.py`` -> ``docs/generated/lesson-07``."""
    return GENERATED / f"lesson-{script.name[:2]}"


def _stamp(script: Path) -> str:
    """A digest of everything the lesson's output depends on: the script and the package's source."""
    digest = hashlib.sha256(b"quick\0")
    for path in [script, *sorted(PACKAGE.rglob("*.py"))]:
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _lesson_environment() -> dict[str, str]:
    # Each lesson limits BLAS to one thread itself (tinygrad_edu.training.blas), so two can run at once.
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    # The canonical MNIST files sit in ../shared/mnist beside the project root (as in CI).
    shared_mnist = REPO.parent / "shared" / "mnist"
    if "TINYGRAD_EDU_DATA" not in env and shared_mnist.is_dir():
        env["TINYGRAD_EDU_DATA"] = str(shared_mnist)
    return env


def run_lesson(script: Path) -> bool:
    """Run one lesson in quick mode into docs/generated/lesson-NN; return False when it was already up to date.

    The lesson runs in an empty folder with its default output folder, so the paths it prints are the ones a
    student sees (``out/lesson-NN/...``); its stdout is kept as ``output.txt`` for the page to show.
    """
    target = lesson_output_dir(script)
    stamp = _stamp(script)
    stamp_file = target / ".stamp"
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return False
    with tempfile.TemporaryDirectory(prefix="tinygrad-edu-docs-") as workdir:
        result = subprocess.run(
            [sys.executable, str(script), "--quick"],
            cwd=workdir,
            env=_lesson_environment(),
            capture_output=True,
            text=True,
            timeout=LESSON_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise PluginError(
                f"lessons/{script.name} failed (exit {result.returncode}) while building the docs. "
                f"Run `.venv/bin/python lessons/{script.name} --quick` to see why. Its last output:\n"
                f"{(result.stdout + result.stderr)[-3000:]}"
            )
        produced = Path(workdir) / "out" / target.name
        if target.exists():
            shutil.rmtree(target)
        if produced.is_dir():
            shutil.copytree(produced, target)
        else:
            target.mkdir(parents=True)
    (target / "output.txt").write_text(result.stdout)
    stamp_file.write_text(stamp)
    return True


def generate_lesson_outputs() -> None:
    """Run every lesson whose output is out of date, two at a time."""
    scripts = lesson_scripts()
    GENERATED.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        ran = [s.name for s, fresh in zip(scripts, pool.map(run_lesson, scripts)) if fresh]
    if ran:
        log.info("Ran the lessons %s in quick mode for the site's figures", ", ".join(ran))


# --- 2b. What the exercise checker prints ------------------------------------------------------------------

# Wrong submissions shown on the Exercises page: (exercise, a line of its solution, the student's line instead).
EXERCISE_EXAMPLES = {
    "network-backprop-forgot-1-over-n": ("network-backprop", "dZ2 = (P - Y) / N", "dZ2 = P - Y"),
    "network-backprop-z1-for-a1": ("network-backprop", "dW2 = A1.T @ dZ2", "dW2 = Z1.T @ dZ2"),
}
EXERCISE_OUTPUTS = GENERATED / "exercises"


def exercise_output(exercise: str, line: str, instead: str) -> str:
    """What ``tinygrad-edu exercise check`` prints for the solution of ``exercise`` with ``line`` written as
    ``instead``, run as a student runs it (an ``exercises/`` folder in an empty working folder)."""
    from tinygrad_edu.exercises import get

    solution = get(exercise).solution().splitlines()
    found = [i for i, text in enumerate(solution) if text.strip().startswith(line)]
    if not found:
        raise PluginError(f"docs/hooks.py: no line {line!r} in the solution of {exercise}")
    text = solution[found[0]]
    solution[found[0]] = text[: len(text) - len(text.lstrip())] + instead  # the student's line, no comment
    wrong = "\n".join(solution)
    with tempfile.TemporaryDirectory(prefix="tinygrad-edu-docs-") as workdir:
        folder = Path(workdir) / "exercises"
        folder.mkdir()
        (folder / get(exercise).filename).write_text(wrong + "\n")
        result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "exercise", "check", exercise], cwd=workdir,
                                env=dict(os.environ, NO_COLOR="1"), capture_output=True, text=True, timeout=120)
    if result.returncode != 1:
        raise PluginError(f"docs/hooks.py: the wrong {exercise} example should fail its check (exit 1), got exit "
                          f"{result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def generate_exercise_outputs() -> None:
    """Write each example's output to docs/generated/exercises/NAME.txt (again only when the package changed)."""
    digest = hashlib.sha256(repr(sorted(EXERCISE_EXAMPLES.items())).encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    stamp_file = EXERCISE_OUTPUTS / ".stamp"
    if stamp_file.is_file() and stamp_file.read_text() == digest.hexdigest():
        return
    EXERCISE_OUTPUTS.mkdir(parents=True, exist_ok=True)
    for name, (exercise, line, instead) in EXERCISE_EXAMPLES.items():
        (EXERCISE_OUTPUTS / f"{name}.txt").write_text(exercise_output(exercise, line, instead))
    stamp_file.write_text(digest.hexdigest())


# --- 3. Walkthroughs ------------------------------------------------------------------------------------


def walkthrough_markdown(folder: str, page: Page) -> str:
    """The markdown of a step-through over the SVG frames in ``docs/<folder>``, with paths relative to the page."""
    frames_dir = DOCS / folder
    frames = sorted(frames_dir.glob(FRAME_GLOB))
    if not frames:
        raise PluginError(f"{page.file.src_uri}: the walkthrough folder docs/{folder} has no {FRAME_GLOB} frames")
    page_dir = (DOCS / page.file.src_uri).parent
    from tinygrad_edu.viz.graph import HIGHLIGHT_COLOUR

    # data-highlight: the colour of the op that runs, which walkthrough.js looks for to bring it into view.
    lines = [f'<div class="walkthrough" data-highlight="{HIGHLIGHT_COLOUR}" markdown>', walkthrough_legend(), ""]
    for index, frame in enumerate(frames):
        caption = f"Backward step {index + 1} of {len(frames)}"
        link = Path(os.path.relpath(frame, page_dir)).as_posix()
        lines += [
            '<figure class="walkthrough-frame" markdown>',
            f"![{caption}]({link})",
            "</figure>",
            "",
        ]
    lines.append("</div>")
    return "\n".join(lines)


def walkthrough_legend() -> str:
    """The colours of the frames, once above them: the frames are drawn without their legend (legend=False),
    which would take a quarter of every frame's width, and on a phone make its text too small to read."""
    from tinygrad_edu.viz.graph import HIGHLIGHT_COLOUR, OP_COLOUR, ROLE_COLOURS, ROLE_LEGEND

    chips = [(f"background: {ROLE_COLOURS[role]}", text, "") for role, text in ROLE_LEGEND.items()]
    chips += [(f"background: {OP_COLOUR}", "operation", ""),
              ("", "partial gradient, more uses to add", "walkthrough-legend-partial"),
              (f"border-color: {HIGHLIGHT_COLOUR}", "the rule that runs now", "walkthrough-legend-active")]
    spans = "".join(f'<span><i class="{css}" style="{style}"></i>{text}</span>' for style, text, css in chips)
    return f'<div class="walkthrough-legend" aria-label="legend">{spans}</div>'


# --- 3b. Numbers quoted from a lesson's run -------------------------------------------------------------

# ``[[lesson-07:test_accuracy]]`` in a page: the value the lesson recorded (course.record_numbers) in its
# quick run for this build, so a sentence and the figure beside it come from the same run.
LESSON_NUMBER = re.compile(r"\[\[(?P<lesson>lesson-\d\d):(?P<name>\w+)\]\]")


def lesson_number_text(match: re.Match, page: Page) -> str:
    numbers_file = GENERATED / match["lesson"] / "numbers.json"
    numbers = json.loads(numbers_file.read_text()) if numbers_file.is_file() else {}
    if match["name"] not in numbers:
        raise PluginError(f"{page.file.src_uri}: {match[0]} is not among the numbers the lesson recorded in "
                          f"docs/generated/{match['lesson']}/numbers.json ({', '.join(numbers) or 'none'})")
    return numbers[match["name"]]


# --- 4. Notebooks -------------------------------------------------------------------------------------

NOTEBOOKS_SITE_DIR = "notebooks"


def notebook_site_files(config: MkDocsConfig) -> list[File]:
    """Each lesson as ``notebooks/<script name>.ipynb`` in the site, generated from the script (never stored)."""
    from tinygrad_edu.course.notebooks import lesson_notebook

    return [
        File.generated(config, f"{NOTEBOOKS_SITE_DIR}/{script.stem}.ipynb", content=lesson_notebook(script))
        for script in lesson_scripts()
    ]


# --- 5. The glossary ----------------------------------------------------------------------------------

GLOSSARY_TERMS = DOCS / "glossary-terms.md"
GLOSSARY_MARKER = "<!-- glossary -->"
ABBREVIATION = re.compile(r"^\*\[(?P<term>[^\]]+)\]: (?P<definition>.+)$", re.MULTILINE)


def glossary_markdown() -> str:
    """A table of the glossary: one row per definition, named after its first term, with its other spellings."""
    entries: dict[str, list[str]] = {}
    for match in ABBREVIATION.finditer(GLOSSARY_TERMS.read_text(encoding="utf-8")):
        entries.setdefault(match["definition"].strip(), []).append(match["term"])
    if not entries:
        raise PluginError(f"{GLOSSARY_TERMS} defines no term (expected lines like *[term]: definition)")
    rows = ["| Term | Meaning |", "| --- | --- |"]
    for definition, (term, *variants) in sorted(entries.items(), key=lambda item: item[1][0].lower()):
        others = [v for v in variants if v.lower() != term.lower()]
        also = f" (also {', '.join(others)})" if others else ""
        rows.append(f"| **{term}**{also} | {definition} |")
    return "\n".join(rows)


# --- 6. reStructuredText left in the docstrings --------------------------------------------------------

# What mkdocstrings leaves of the roles in its HTML: ``:func:<code>~tinygrad_edu.manual.forward</code>``.
RST_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([\w.]+)</code>")
RST_INLINE_MATH = re.compile(r":math:<code>(.*?)</code>", re.DOTALL)
RST_LITERAL_MARKER = re.compile(r"(?<=[^\s:.])::</p>")
RST_MATH_BLOCK = re.compile(r"<p>\.\. math::\s*(.*?)</p>", re.DOTALL)


ABBR_TAG = re.compile(r"<abbr\b[^>]*>(.*?)</abbr>", re.DOTALL)


def _plain_maths(tex: str) -> str:
    """The TeX of a docstring formula without the glossary's <abbr> tags Markdown put into its words."""
    return ABBR_TAG.sub(r"\1", tex)


def docstring_rst_to_html(html: str) -> str:
    """Rewrite the reStructuredText roles and maths that survive in mkdocstrings' HTML of a docstring."""
    html = RST_MATH_BLOCK.sub(lambda m: f'<div class="arithmatex">\\[{_plain_maths(m[1].strip())}\\]</div>', html)
    html = RST_INLINE_MATH.sub(lambda m: f'<span class="arithmatex">\\({_plain_maths(m[1])}\\)</span>', html)
    # "text::" before an indented block is reStructuredText for "text:" followed by a literal (code) block.
    html = RST_LITERAL_MARKER.sub(":</p>", html)
    return RST_ROLE.sub(lambda m: f"<code>{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}</code>", html)


# --- MkDocs events --------------------------------------------------------------------------------------


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    # Snippet paths are relative to the repository root, wherever `mkdocs` is started from.
    config.mdx_configs.setdefault("pymdownx.snippets", {})["base_path"] = [str(REPO)]
    return config


def on_pre_build(config: MkDocsConfig) -> None:
    ensure_katex()
    generate_lesson_outputs()
    generate_exercise_outputs()


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for file in katex_site_files(config) + notebook_site_files(config):
        files.append(file)
    return files


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return docstring_rst_to_html(html) if page.file.src_uri.startswith("api/") else html


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if GLOSSARY_MARKER in markdown:
        markdown = markdown.replace(GLOSSARY_MARKER, glossary_markdown())
    markdown = LESSON_NUMBER.sub(lambda match: lesson_number_text(match, page), markdown)
    return WALKTHROUGH.sub(lambda match: walkthrough_markdown(match["folder"], page), markdown)
