"""Shared fixtures. ``mnist_dir`` finds the real MNIST files or skips the test with the reason (under CI, where
the data must be there, it fails instead).

Tests marked ``slow`` (full trainings, every notebook, the site build) run by default; ``pytest -m "not slow"``
skips them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--many-seeds",
        action="store_true",
        default=False,
        help="run the long randomized differential test of the engine (thousands of random graphs)",
    )


def _mnist_candidates() -> list[Path]:
    """Where the MNIST folder may be: $TINYGRAD_EDU_DATA if set, else ../shared/mnist beside the project root."""
    if os.environ.get("TINYGRAD_EDU_DATA"):
        return [Path(os.environ["TINYGRAD_EDU_DATA"]).expanduser()]
    # CI checks the project out beside shared/; development worktrees sit one level deeper (wt/<branch>).
    return [PROJECT_ROOT.parent / "shared" / "mnist", PROJECT_ROOT.parent.parent / "shared" / "mnist"]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the four MNIST files; skips the test (with where it looked) when absent."""
    from tinygrad_edu.data.mnist import find_idx_files

    candidates = _mnist_candidates()
    for folder in candidates:
        if folder.is_dir() and all(find_idx_files(folder).values()):
            return folder
    looked = ", ".join(str(p) for p in candidates)
    reason = f"real MNIST not found (looked in {looked}); set TINYGRAD_EDU_DATA to the folder of the 4 files"
    if os.environ.get("CI"):  # CI provides ../shared/mnist: there a missing data set is a broken set-up, not a skip
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path):
    """The real MNIST data set (loaded once per session, never downloaded)."""
    from tinygrad_edu.data import load_mnist

    return load_mnist(mnist_dir, download=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the built site (directly or through a fixture, such as the browser's) is slow:
    the build runs every lesson."""
    for item in items:
        if "built_site" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
