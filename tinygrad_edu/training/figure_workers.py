"""Draw a run's figures in child processes started with the training, so that matplotlib loads meanwhile.

Importing matplotlib takes about half a second, and drawing the four figures of ``tinygrad-edu train`` about
as long again: done after the last epoch, in the command's own process, that was a tenth of the command. The
training itself uses one core (see :mod:`~tinygrad_edu.training.blas`), so :class:`FigureWorkers` starts two
children when the run starts: they import matplotlib on the other core while the network trains, then each
draws half of the figures, at the same time.

A child is ``python -m tinygrad_edu.training.figure_workers``. It reads one job per line on its standard input
(JSON: the figure, the ``.npz`` file holding its arrays, its other arguments and the PNG to write) and answers
each with one line, ``{"error": null}`` or the error's type and message. A figure that fails costs only that
figure (see :func:`~tinygrad_edu.training.loop.write_outputs`); the figures of a child that dies, or cannot be
started, are drawn in the calling process. A child whose standard input closes (its parent ended, however) exits at
once, even in the middle of a figure.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np


def figure_functions() -> dict[str, Callable[..., Path]]:
    """The figures a child can draw, by name: each takes its arguments by keyword and ``path``."""
    from tinygrad_edu.training import plots
    from tinygrad_edu.training.health_monitor import plot_health

    return {"training_curves": plots.plot_training_curves, "predictions": plots.plot_predictions,
            "confusion_matrix": plots.plot_confusion_matrix, "first_layer_weights": plots.plot_first_layer_weights,
            "health": plot_health}


@dataclass
class FigureJob:
    """One figure to draw: ``figure_functions()[figure](**arrays, **values, path=path)``."""

    figure: str
    path: Path
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # sent through an .npz file
    values: dict[str, Any] = field(default_factory=dict)  # sent as JSON (numbers, strings, lists, dicts)


class FigureWorkers:
    """``count`` children that draw :class:`FigureJob` s; use as a context manager, which ends them.

    >>> with FigureWorkers() as workers:                                     # doctest: +SKIP
    ...     train_the_network()                                              # matplotlib loads meanwhile
    ...     errors = workers.draw({"confusion": FigureJob("confusion_matrix", path, {"confusion": c})}, folder)
    """

    def __init__(self, count: int = 2) -> None:
        # a file, not a pipe: a child's warnings can never fill it and block the child
        self._stderr = tempfile.TemporaryFile() if count else None
        self._children: list[subprocess.Popen] = []
        for _ in range(count):
            try:
                self._children.append(subprocess.Popen(
                    [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=self._stderr, text=True, bufsize=1))
            except OSError:  # no process to be had: the figures are drawn in this one
                break

    def __enter__(self) -> FigureWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def draw(self, jobs: dict[str, FigureJob], scratch: Path) -> dict[str, str | None]:
        """Draw every job, shared out among the children (in this process if there are none); return
        ``{name: None, or the error that stopped it}``. The jobs' arrays go through ``.figure-*.npz`` files in
        ``scratch``, removed before returning (the staging folder of the outputs: a run killed meanwhile leaves
        them where the next run's clean-up looks)."""
        if not self._children:
            return {name: draw_here(job) for name, job in jobs.items()}
        sent: list[tuple[str, subprocess.Popen | None]] = []
        inputs = [scratch / f".figure-{index}.npz" for index in range(len(jobs))]
        try:
            for index, ((name, job), arrays) in enumerate(zip(jobs.items(), inputs)):
                np.savez(arrays, **job.arrays)
                child = self._children[index % len(self._children)]
                line = json.dumps({"figure": job.figure, "arrays": str(arrays), "values": job.values,
                                   "path": str(job.path)})
                sent.append((name, child if _send(child.stdin, line) else None))
            answers = {name: _answer(child) for name, child in sent}
        finally:
            for arrays in inputs:
                arrays.unlink(missing_ok=True)
        # a child that died (or could not import what it needs) costs time, not figures: those are drawn here
        return {name: draw_here(jobs[name]) if answer is _NO_ANSWER else answer for name, answer in answers.items()}

    def close(self) -> None:
        """End the children (they exit when their input closes; one that does not is killed)."""
        for child in self._children:
            with contextlib.suppress(OSError):  # a dead child's pipe: what was left unsent cannot be flushed
                child.stdin.close()
        for child in self._children:
            try:
                child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            child.stdout.close()
        self._children = []
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def draw_here(job: FigureJob) -> str | None:
    """Draw ``job`` in this process; return None, or the error that stopped it as ``"Type: message"``."""
    try:
        figure_functions()[job.figure](**job.arrays, **job.values, path=job.path)
    except Exception as exc:  # noqa: BLE001  a figure is a view of the run: losing one must not lose the run
        return f"{type(exc).__name__}: {exc}"
    return None


def _send(stdin: IO[str], line: str) -> bool:
    try:
        stdin.write(line + "\n")
        stdin.flush()
        return True
    except (BrokenPipeError, ValueError):  # the child has died (or its input was closed)
        return False


_NO_ANSWER = "the process drawing it ended before it was drawn"


def _answer(child: subprocess.Popen | None) -> str | None:
    """The child's answer to the next job it was sent: None (drawn) or the error."""
    line = child.stdout.readline() if child is not None else ""
    if not line:
        return _NO_ANSWER
    return json.loads(line)["error"]


def serve(jobs: IO[str], answers: IO[str]) -> None:
    """The child's side: import matplotlib now, then draw each job read from ``jobs``, answering on ``answers``.

    ``jobs`` is read by a thread of its own, which ends the process the moment it closes, even in the middle of
    a figure: a parent killed while the figures are drawn leaves no child writing into its staging folder
    after the next run has cleared it away."""
    from tinygrad_edu.training.plots import figure_of_size

    waiting: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in jobs:
            waiting.put(line)
        answers.flush()
        os._exit(0)  # no tearing matplotlib down: every job asked for has been answered or is no longer wanted

    threading.Thread(target=read, name="jobs", daemon=True).start()
    try:
        figure_of_size(1, 1)  # imports matplotlib before the first job
    except ImportError:
        pass  # each job will say so
    while True:
        job = json.loads(waiting.get())
        try:
            with np.load(job["arrays"], allow_pickle=False) as saved:
                arrays = dict(saved)
        except (OSError, ValueError) as exc:  # the parent's file is gone or damaged: this figure fails, not the child
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = draw_here(FigureJob(job["figure"], Path(job["path"]), arrays, job["values"]))
        answers.write(json.dumps({"error": error}) + "\n")
        answers.flush()


if __name__ == "__main__":
    if hasattr(os, "nice"):
        os.nice(10)  # the training comes first: the import and the drawing take the time the training leaves free
    serve(sys.stdin, sys.stdout)
