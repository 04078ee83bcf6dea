"""Exceptions raised by tinygrad_edu.

Every error says which operation failed, with which shapes or values, and what to do about it.
They subclass the built-in exception a NumPy user would expect (``ValueError``, ``TypeError``),
so ``except ValueError`` keeps working.
"""


class TinygradEduError(Exception):
    """Base class of every error this package raises on purpose."""


class ShapeError(TinygradEduError, ValueError):
    """Operands whose shapes do not fit the operation (matmul, broadcasting, reshape, backward's gradient)."""


class GradError(TinygradEduError, RuntimeError):
    """A misuse of the gradient machinery (backward on a non-scalar without a gradient, grad on integers...)."""


class UsageError(TinygradEduError, ValueError):
    """A setting that cannot work (out of range, too large for memory, inconsistent with the data).

    The command line reports it like argparse does, with exit code 2 (bad usage), before any work starts.
    """
