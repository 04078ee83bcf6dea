"""The exercises: their names, lessons and goals; the stub files; the solutions built from the project's code.

Each exercise ``NAME`` (``network-backprop``) has three parts, all named after its module name
(``network_backprop``):

* ``stubs/network_backprop.py``: the file the student fills in (package data): each item is a function whose
  docstring says what to compute, the shapes and a hint, and whose body raises ``NotImplementedError``;
* ``checks/network_backprop.py``: ``FUNCTIONS`` (the functions the file must define) and
  ``check(functions, where) -> Report``;
* ``solutions/network_backprop.py``: the solved functions. A solution is the stub with each
  ``raise NotImplementedError`` replaced by the body of the solved function of the same name, or by
  ``BODIES[name]``. Where the project has the code (``topological_order``, ``sum_to_shape``, the seven lines
  of ``manual.backward``, the optimizers' updates), the solved function *is* the project's, read with
  :mod:`inspect`, so a solution cannot drift from the engine.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from importlib import resources
from types import ModuleType

from tinygrad_edu.errors import UsageError

SOLUTION_HEADER = (
    "# SOLUTION of the exercise {name}, printed by `tinygrad-edu exercise solution {name}`.\n"
    "# Try it yourself first: deriving each line and seeing the check pass teaches far more than reading it.\n"
)


class UnknownExerciseError(UsageError, KeyError):
    """An exercise name that does not exist (bad usage: the command exits 2)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``name`` (for the commands), the ``lessons`` it follows, its one-line ``goal``."""

    name: str
    lessons: str
    goal: str

    @property
    def module_name(self) -> str:
        return self.name.replace("-", "_")

    @property
    def filename(self) -> str:
        """The file's name in the student's folder (``network_backprop.py``)."""
        return f"{self.module_name}.py"

    @property
    def checks(self) -> ModuleType:
        return importlib.import_module(f"tinygrad_edu.exercises.checks.{self.module_name}")

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions the student's file must define."""
        return tuple(self.checks.FUNCTIONS)

    def stub(self) -> str:
        """The text of the file the student starts from."""
        return resources.files("tinygrad_edu.exercises").joinpath("stubs", self.filename).read_text(encoding="utf-8")

    def solution(self) -> str:
        """The stub, solved: each ``raise NotImplementedError`` replaced by the solution's body."""
        solved = importlib.import_module(f"tinygrad_edu.exercises.solutions.{self.module_name}")
        return SOLUTION_HEADER.format(name=self.name) + fill_stub(self.stub(), solved)


EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        Exercise("local-derivatives", "1-2", "the backward rule of add, mul, div, pow, exp, log, tanh and relu"),
        Exercise("engine", "2-3", "topological_order, the backward loop that adds gradients, and sum_to_shape"),
        Exercise("tensor-ops", "3", "backward of matmul, sum, mean, max (ties), reshape, transpose and label picking"),
        Exercise("softmax-cross-entropy", "4-5", "the gradient through each step of softmax and cross-entropy, "
                 "down to (P - Y)/N"),
        Exercise("network-backprop", "5", "the seven lines of the 784-hidden-10 backward, checked line by line"),
        Exercise("deep-network", "6", "the backward of 784-128-64-10 with the layer recurrence of the deltas"),
        Exercise("training-step", "7", "one SGD step and one epoch over shuffled mini-batches"),
        Exercise("optimizers", "8", "the updates of SGD with momentum and of Adam"),
        Exercise("batchnorm-backward", "9", "the backward of batch normalisation, path by path through the mean "
                 "and the variance"),
    )
}


def get(name: str) -> Exercise:
    """The exercise called ``name``; an error listing the names when there is none."""
    if name not in EXERCISES:
        raise UnknownExerciseError(
            f"no exercise called {name!r}; the exercises are: {', '.join(EXERCISES)} (tinygrad-edu exercise list)"
        )
    return EXERCISES[name]


def body_source(function: object) -> str:
    """The body of a function without its signature and docstring, dedented (comments kept)."""
    source = textwrap.dedent(inspect.getsource(function))
    node = ast.parse(source).body[0]
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    body = node.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
        and isinstance(body[0].value.value, str)
    lines = source.splitlines()
    start = body[0].end_lineno if has_docstring else body[0].lineno - 1
    return textwrap.dedent("\n".join(lines[start : body[-1].end_lineno])).strip("\n") + "\n"


def marked_section(module: ModuleType, section: str) -> str:
    """The lines between ``# --8<-- [start:section]`` and ``# --8<-- [end:section]`` in a module's source,
    dedented: the same lines the documentation includes with pymdownx.snippets."""
    lines = inspect.getsource(module).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# --8<-- [start:{section}]")
    end = next(i for i, line in enumerate(lines) if line.strip() == f"# --8<-- [end:{section}]")
    return textwrap.dedent("\n".join(lines[start + 1 : end])) + "\n"


def fill_stub(stub: str, solved: ModuleType) -> str:
    """Replace each function's ``raise NotImplementedError`` in ``stub`` by the solved body of that function."""
    bodies: dict[str, str] = getattr(solved, "BODIES", {})
    lines = stub.splitlines()
    tree = ast.parse(stub)
    replacements = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        raises = [s for s in node.body if isinstance(s, ast.Raise) and "NotImplementedError" in ast.unparse(s)]
        if not raises:
            continue
        body = bodies.get(node.name) or body_source(getattr(solved, node.name))
        raise_node = raises[-1]
        indent = " " * raise_node.col_offset
        replacements.append((raise_node.lineno - 1, raise_node.end_lineno,
                             textwrap.indent(body, indent).rstrip("\n").splitlines()))
    for start, end, new in sorted(replacements, reverse=True):
        lines[start:end] = new
    return "\n".join(lines) + "\n"
