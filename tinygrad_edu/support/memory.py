"""How much memory a run needs, and a clear refusal when it cannot fit.

A 784-H-10 network with a huge H does not fail politely: NumPy either raises ``MemoryError`` deep inside
an operation or, worse, the machine starts swapping and the run crawls for minutes. So commands estimate
what they will allocate (parameters, gradients, optimizer state, the activations of a batch) and refuse
up front when that is more than the memory available now.
"""

from __future__ import annotations

import os

from tinygrad_edu.errors import UsageError

MEMORY_ENV_VAR = "TINYGRAD_EDU_MEMORY_LIMIT"  # bytes; overrides the detected free memory (tests, shared machines)


class MemoryBudgetError(UsageError, MemoryError):
    """A run that needs more memory than the machine has available."""


def available_bytes() -> int | None:
    """Memory available to a new allocation now, in bytes (``MemAvailable`` on Linux), or None if unknown."""
    override = os.environ.get(MEMORY_ENV_VAR, "").strip()
    if override.isdigit():
        return int(override)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def mlp_bytes(hidden: int, batch: int, itemsize: int = 4, copies: int = 5, inputs: int = 784, classes: int = 10) -> int:
    """Estimated peak bytes of training a ``inputs``-``hidden``-``classes`` network on batches of ``batch``.

    ``copies`` arrays the size of the parameters live at once (the parameters, their gradients, Adam's
    two moments, a temporary in the update); the forward and backward passes keep about six arrays of
    ``batch x hidden`` (Z1, A1, their gradients, temporaries) and the input batch.
    """
    params = inputs * hidden + hidden + hidden * classes + classes
    activations = 6 * batch * hidden + 2 * batch * inputs + 4 * batch * classes
    return itemsize * (copies * params + activations)


def check_fits(needed: int, what: str, advice: str) -> None:
    """Raise :class:`MemoryBudgetError` if ``needed`` bytes exceed the memory available now (no check if unknown)."""
    available = available_bytes()
    if available is not None and needed > available:
        raise MemoryBudgetError(
            f"{what} needs about {format_bytes(needed)} of memory but only {format_bytes(available)} is available; "
            f"{advice}"
        )
