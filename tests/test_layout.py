"""The package's layout: each module imports only from its own layer or below, no import cycle, no long module.

Layers, from the bottom (a module may import from its own layer and the ones below it):

0. ``errors``;
1. the library a student imports and reads: ``tensor``, ``functional``, ``nn``, ``optim``, ``gradcheck``, ``viz``;
2. ``support``: atomic writes, option types, the memory check;
3. ``data`` (MNIST) and ``manual`` (the network by hand, its comparison, the classic mistakes);
4. ``training``;
5. ``exercises``, ``sandbox`` (running the student's code apart) and ``grading`` (a class at once);
6. ``course``: the lessons' helpers;
7. ``cli``: the commands, each parsing its options and calling the layers below.

Imports anywhere in a file count, those inside functions too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tinygrad_edu

PACKAGE = Path(tinygrad_edu.__file__).parent
LAYERS = {
    "errors": 0, "__init__": 1, "tensor": 1, "functional": 1, "nn": 1, "optim": 1, "gradcheck": 1, "viz": 1,
    "support": 2, "data": 3, "manual": 3, "training": 4, "exercises": 5, "sandbox": 5, "grading": 5, "course": 6,
    "cli": 7,
    "__main__": 7,
}
LONGEST = 500  # lines; tensor.py, every op with its backward on one screen each, is the one exception


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (``from a.b import c`` counts a.b.c when it is a module)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("tinygrad_edu") and target != name:
                found.add(target)
                break
    return found


def layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else "__init__"
    if top not in LAYERS:
        pytest.fail(f"{name}: tinygrad_edu.{top} has no layer in tests/test_layout.py; add it to LAYERS")
    return LAYERS[top]


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_import_from_a_higher_layer(name):
    upward = sorted(other for other in GRAPH[name] if layer(other) > layer(name) and other != "tinygrad_edu")
    assert not upward, f"{name} (layer {layer(name)}) imports from higher layers: {upward}"


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in GRAPH:
        stack = [(start, iter(sorted(GRAPH[start])))]
        path = [start]
        state[start] = state.get(start, 0) or 1
        if state[start] == 2:
            continue
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            elif state.get(child) is None:
                state[child] = 1
                stack.append((child, iter(sorted(GRAPH.get(child, ())))))
                path.append(child)


def test_the_cycle_check_finds_a_cycle():
    # The check above must be able to fail: run it on a made-up graph with a loop.
    global GRAPH
    saved = GRAPH
    GRAPH = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    try:
        with pytest.raises(pytest.fail.Exception, match="import cycle: a -> b -> c -> a"):
            test_no_import_cycle()
    finally:
        GRAPH = saved


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_module_but_tensor_is_longer_than_500_lines(name):
    if name == "tinygrad_edu.tensor":
        return
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= LONGEST, f"{name} has {lines} lines; split it by role (at most {LONGEST})"
