"""Every lesson, generated as a notebook, runs top to bottom in a real Jupyter kernel and shows its figures inline.

The notebook is made from the lesson script as a student gets it (``tinygrad_edu.course.notebooks``), its settings
cell is edited as a student would edit it (``QUICK = True`` for the training lessons, ``DATA_DIR`` pointing at
MNIST), then nbclient runs it in an ipykernel kernel started in an empty folder. An error in any cell fails
the test with that cell's traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tinygrad_edu.course.notebooks import lesson_notebook, lesson_scripts

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"

# lesson -> (inline figures it must show, does it need MNIST); the figures are those tests/test_lessons.py
# finds saved by the script: PNG plots, and SVG graphs (lessons 2 and 6).
FIGURES = {
    "01_chain_rule": (["image/png"] * 2, False),
    "02_computation_graph": (["image/svg+xml"] * 2, False),
    "03_tensors": (["image/png"], False),
    "04_forward_pass": (["image/png"] * 2, False),
    "05_backprop_by_hand": (["image/png"] * 2, True),
    "06_network_graph": (["image/svg+xml"] * 2, False),  # the network's graph, one layer as a circuit
    "07_training_mnist": (["image/png"] * 4, True),
    "08_experiments": (["image/png"] * 4, True),
    "09_where_backprop_leaks": (["image/png"] * 6, True),
}


def test_every_lesson_is_listed() -> None:
    assert [s.stem for s in lesson_scripts(LESSONS)] == list(FIGURES)


def set_setting(notebook: nbformat.NotebookNode, line: str, value: str) -> None:
    """Replace the line ``line`` of the first code cell (the settings) with ``value``, as a student would."""
    settings = next(cell for cell in notebook.cells if cell.cell_type == "code")
    lines = settings.source.splitlines()
    assert line in lines, f"the settings cell has no line {line!r}:\n{settings.source}"
    settings.source = "\n".join(value if text == line else text for text in lines)


def run_notebook(notebook: nbformat.NotebookNode, folder: Path, allow_errors: bool = False,
                 **env: str | None) -> nbformat.NotebookNode:
    """Execute ``notebook`` in a fresh python3 kernel started in ``folder``, with ``env`` changed (None: unset)."""
    # One BLAS thread: the suite runs on 2 busy cores. The kernel inherits this process's environment;
    # the kernel's own matplotlib backend, not the tests' Agg.
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": None, **env}
    saved = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        client = NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=allow_errors,
                                resources={"metadata": {"path": str(folder)}})
        return client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


@pytest.mark.slow  # every lesson, in a Jupyter kernel
@pytest.mark.parametrize("name", list(FIGURES))
def test_lesson_notebook_runs_with_inline_figures(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    expected_figures, needs_mnist = FIGURES[name]
    notebook = nbformat.reads(lesson_notebook(LESSONS / f"{name}.py"), as_version=4)
    nbformat.validate(notebook)
    if needs_mnist:
        mnist_dir = request.getfixturevalue("mnist_dir")
        set_setting(notebook, "DATA_DIR = None  # the folder holding MNIST (None: $TINYGRAD_EDU_DATA, else "
                    "downloaded once into the cache)", f"DATA_DIR = {str(mnist_dir)!r}")
    number = name[:2]
    out = f"out/lesson-{number}"
    if name == "03_tensors":  # a student's edit of OUT decides where the figures go (no command line in a kernel)
        out = "my figures"
        set_setting(notebook, 'OUT = "out/lesson-03"  # the folder for this lesson\'s figure', f"OUT = {out!r}")
    if name in ("07_training_mnist", "08_experiments", "09_where_backprop_leaks"):
        settings = next(cell for cell in notebook.cells if cell.cell_type == "code")
        quick = next(line for line in settings.source.splitlines() if line.startswith("QUICK = False"))
        set_setting(notebook, quick, "QUICK = True")

    executed = run_notebook(notebook, tmp_path)

    shown = [kind for output in outputs(executed) if output.output_type == "display_data"
             for kind in ("image/png", "image/svg+xml") if kind in output.get("data", {})]
    assert shown == expected_figures
    text = "".join(output.get("text", "") for output in outputs(executed) if output.output_type == "stream")
    assert f"Figures and files go to {out}/" in text  # relative to the kernel's folder
    assert text.count(f"saved {out}/") >= len(expected_figures)
    assert len(list((tmp_path / out).glob("*.*"))) >= len(expected_figures)
    assert "Traceback" not in text and not [o for o in outputs(executed) if o.output_type == "error"]
    if name == "07_training_mnist":
        assert "training on 10,000 images for 2 epochs" in text  # QUICK = True took effect


def test_notebooks_command_writes_one_notebook_per_lesson(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "notebooks", "--out", str(tmp_path / "nb")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = sorted(p.stem for p in (tmp_path / "nb").glob("*.ipynb"))
    assert written == list(FIGURES)
    # It says how to open them, and where JupyterLab is not installed, how to install it.
    assert "jupyter lab " in result.stdout
    has_jupyterlab = subprocess.run([sys.executable, "-c", "import jupyterlab"], capture_output=True).returncode == 0
    assert ('pip install -e ".[student]"' in result.stdout) != has_jupyterlab
    notebook = json.loads((tmp_path / "nb" / "01_chain_rule.ipynb").read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert notebook["cells"][0]["cell_type"] == "markdown"
    source = ["".join(cell["source"]) for cell in notebook["cells"]]  # .ipynb stores a cell's text as lines
    assert source[0].startswith("# Lesson 1: derivatives and the chain rule")
    assert "made from `lessons/01_chain_rule.py`" in source[1] and "pip install" in source[1]
    assert source[2].startswith("# Settings") and 'OUT = "out/lesson-01"' in source[2]
    assert source[-1].startswith("## Your turn") and "tinygrad-edu exercise check local-derivatives" in source[-1]
    assert all(not cell.get("outputs") for cell in notebook["cells"])  # made from source, never run


def test_notebooks_command_outside_a_clone(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "notebooks"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2  # bad usage: no lessons where it looked
    assert "no lesson scripts" in result.stderr and "--lessons DIR" in result.stderr
    assert "Traceback" not in result.stderr


def code_notebook(*cells: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


GRAPH_CELLS = (
    "from tinygrad_edu import Tensor\nfrom tinygrad_edu.viz import draw_graph\n"
    "x = Tensor([1.0, 2.0], requires_grad=True, name='x')\nloss = (x * x).sum()",
    "draw_graph(loss)",
)


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (apt-get install graphviz)")
def test_draw_graph_displays_inline(tmp_path: Path) -> None:
    executed = run_notebook(code_notebook(*GRAPH_CELLS), tmp_path)
    [result] = executed.cells[1].outputs
    assert result.output_type == "execute_result"
    assert "<svg" in result.data["image/svg+xml"] and "mul" in result.data["image/svg+xml"]


def test_draw_graph_without_dot_says_how_to_install_it(tmp_path: Path) -> None:
    no_dot = tmp_path / "bin-without-dot"
    no_dot.mkdir()
    executed = run_notebook(code_notebook(*GRAPH_CELLS), tmp_path, PATH=str(no_dot))
    [result] = executed.cells[1].outputs
    assert result.output_type == "execute_result" and "image/svg+xml" not in result.data
    assert "`dot` program is not on PATH" in result.data["text/plain"]
    assert "sudo apt-get install graphviz" in result.data["text/plain"]


def test_lesson_notebook_without_dot_goes_on(tmp_path: Path) -> None:
    no_dot = tmp_path / "bin-without-dot"
    no_dot.mkdir()
    notebook = nbformat.reads(lesson_notebook(LESSONS / "02_computation_graph.py"), as_version=4)
    executed = run_notebook(notebook, tmp_path, PATH=str(no_dot))
    streams = [o for o in outputs(executed) if o.output_type == "stream"]
    assert "sudo apt-get install graphviz" in "".join(o.text for o in streams if o.name == "stderr")
    assert "after x.zero_grad(), x.grad = None" in "".join(o.text for o in streams if o.name == "stdout")
    assert not [o for o in outputs(executed) if o.output_type == "display_data"]  # no picture without dot
    assert (tmp_path / "out" / "lesson-02" / "graph-forward.dot").is_file()


def test_bad_settings_in_a_notebook_are_named(tmp_path: Path) -> None:
    """A setting that cannot work stops the settings cell with an error naming the variable, before any work."""
    (tmp_path / "a-file").write_text("not a folder")
    notebook = code_notebook(
        "from tinygrad_edu.course import lesson_settings",
        'OUT = lesson_settings(1, "derivatives", out="a-file")',
        'EPOCHS, OUT = lesson_settings(7, "training", epochs=0, out="out")',
        'DATA_DIR, OUT = lesson_settings(5, "backprop", data_dir="a-file", out="out")',
        'QUICK, EPOCHS, OUT = lesson_settings(7, "training", quick=True, epochs=3, out="figures")\n'
        "print(QUICK, EPOCHS, repr(OUT))",
    )
    executed = run_notebook(notebook, tmp_path, allow_errors=True)
    errors = [cell.outputs[-1] for cell in executed.cells[1:4]]
    assert [e.output_type for e in errors] == ["error"] * 3
    assert [e.ename for e in errors] == ["LessonSettingError"] * 3
    assert errors[0].evalue.startswith("OUT: a-file is a file, not a folder")
    assert errors[1].evalue == "EPOCHS: must be a positive integer, got 0"
    assert errors[2].evalue.startswith("DATA_DIR: a-file is a file, not a folder")
    assert "True 3 PosixPath('figures')" in executed.cells[4].outputs[-1].text
    assert (tmp_path / "figures").is_dir()


def test_your_turn_check_works_in_a_notebook(tmp_path: Path) -> None:
    """The last cell of lesson 7 says: define the functions in a cell, then check("training-step"). It works."""
    import tinygrad_edu.exercises as exercises

    exercises_dir = Path(exercises.__file__).parent
    lesson = nbformat.reads(lesson_notebook(LESSONS / "07_training_mnist.py"), as_version=4)
    assert 'check("training-step")' in lesson.cells[-1].source
    check_cell = 'from tinygrad_edu.exercises import check\ncheck("training-step")'
    notebook = code_notebook(
        (exercises_dir / "stubs" / "training_step.py").read_text(),  # the functions, not written yet
        check_cell,
        (exercises_dir / "solutions" / "training_step.py").read_text(),  # the functions, written right
        check_cell,
    )
    executed = run_notebook(notebook, tmp_path)
    not_yet, solved = (executed.cells[i].outputs[-1].data["text/plain"] for i in (1, 3))
    assert "not written yet" in not_yet and "FAIL" not in not_yet
    assert "not written yet" not in solved and "FAIL" not in solved and "pass" in solved
