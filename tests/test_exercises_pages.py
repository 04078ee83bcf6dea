"""The "Your turn" section of every lesson page: its commands run as written, and its passing output is real.

The commands and the expected output are read from the markdown, so the page and this test cannot drift.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "docs" / "lessons").glob("[0-9][0-9]-*.md"))
NUMBER = re.compile(r"\d\.\de[-+]\d\d")  # rel err: rounding may differ from machine to machine


def your_turn(page: Path) -> tuple[list[str], list[str]]:
    """The commands of the section's bash block, and the lines of its "A passing check prints" block."""
    text = page.read_text()
    assert "\n## Your turn\n" in text, f"{page.name} has no Your turn section"
    section = text.split("\n## Your turn\n", 1)[1]
    commands = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1).strip().splitlines()
    passing = re.search(r"A passing check prints:\n\n```text\n(.*?)```", section, re.DOTALL).group(1)
    return commands, passing.rstrip("\n").splitlines()


def run(command: str, folder: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               NO_COLOR="1")
    env.pop("TINYGRAD_EDU_DATA", None)  # as a student's machine without MNIST: nothing is downloaded
    return subprocess.run(shlex.split(command), cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_every_lesson_page_has_a_your_turn_section():
    assert len(PAGES) == 9
    names = [your_turn(page)[0][0].split()[-1] for page in PAGES]
    from tinygrad_edu.exercises import EXERCISES

    assert sorted(names) == sorted(EXERCISES)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_your_turn_commands_run_as_written(tmp_path, page):
    commands, passing = your_turn(page)
    start, *checks = commands
    assert start.startswith("tinygrad-edu exercise start ")
    name = start.split()[-1]
    started = run(start, tmp_path)
    assert started.returncode == 0, started.stderr
    stub = Path(tmp_path / re.search(r"wrote (\S+)", started.stdout).group(1))
    assert stub.is_file()
    for command in checks:  # on the untouched file: every item not written yet, no traceback
        result = run(command, tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "not written yet" in result.stdout and "Traceback" not in result.stdout + result.stderr
    stub.write_text(run(f"tinygrad-edu exercise solution {name}", tmp_path).stdout)
    outputs = []
    for command in checks:
        result = run(command, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout)
    printed = outputs[0]
    # Every line the page shows is printed, in the same order (the page leaves out the notes under the table).
    remaining = iter(NUMBER.sub("N", line) for line in printed.splitlines())
    for line in passing:
        if line.strip():
            assert any(NUMBER.sub("N", line) == printed_line for printed_line in remaining), (
                f"{page.name} shows {line!r}, which check does not print (in this order):\n{printed}")


def load_hooks():
    """docs/hooks.py, imported by path as MkDocs loads it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wrong_answers_on_the_exercises_page_are_generated_by_the_build():
    """The page includes what the build's hook printed for each example, and shows the line each example wrote."""
    hooks = load_hooks()
    text = (REPO / "docs" / "exercises.md").read_text()
    included = re.findall(r'--8<-- "docs/generated/exercises/(\S+)\.txt"', text)
    assert sorted(included) == sorted(hooks.EXERCISE_EXAMPLES)
    for exercise, line, instead in hooks.EXERCISE_EXAMPLES.values():
        assert f"`{instead}`" in text  # the page says what the student wrote


def test_an_example_output_is_what_check_prints_and_names_the_mistake():
    hooks = load_hooks()
    printed = hooks.exercise_output(*hooks.EXERCISE_EXAMPLES["network-backprop-z1-for-a1"])
    assert printed.startswith("Checking network-backprop: exercises/network_backprop.py")
    assert "your dW2 is Z1.T @ dZ2, but dW2 = A1.T @ dZ2: Z1 is used where A1 belongs" in " ".join(printed.split())
    assert "6 of 8 items pass; FAIL: dW2, chain" in printed
