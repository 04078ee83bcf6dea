"""How many threads NumPy's BLAS (the library behind ``@``) may use while we train: one, by default.

The matrices of the 784-hidden-10 network are small (a batch of 128 by 784 times 784 by 128). Splitting such
a product over several threads saves little, and when the other core is busy a thread that has to wait for it
stalls every product. ``benchmarks/blas_threads.py`` measured it on the 2-core machine the course is written
on (NumPy's OpenBLAS, default 2 threads; "loaded" adds a busy loop on one core; median of 3 runs, seconds;
the machine was also shared with other jobs, load average 4 to 6, so "idle" is not quite idle)::

    workload                              machine  1 thread  default  default / 1
    train epoch (autodiff)                idle     0.66      2.31     3.50
    train epoch (autodiff)                loaded   0.93      2.62     2.81
    train epoch (manual)                  idle     0.70      0.99     1.41
    train epoch (manual)                  loaded   0.53      5.58     10.61
    lessons/07_training_mnist.py --quick  idle     4.67      3.83     0.82
    lessons/07_training_mnist.py --quick  loaded   17.71     31.80    1.80
    lessons/08_experiments.py --quick     idle     8.05      11.08    1.38
    lessons/08_experiments.py --quick     loaded   19.65     25.47    1.30

One thread was faster in 7 of the 8 cases, up to 10 times, and far steadier (the default's three epochs of
the same ``train`` run took 0.4, 2.3 and 6.4 s); the exception, lesson 7 on a quiet machine, is its evaluation
of 10,000 images at once, a product large enough for two threads to pay off. Measured again with the final
lessons (lesson 8 trains every setting with 3 seeds) while the machine was busier still (load average 4 to
11), one thread was faster in all 8 cases::

    workload                              machine  1 thread  default  default / 1
    train epoch (autodiff)                idle     1.50      10.65    7.11
    train epoch (autodiff)                loaded   1.80      29.71    16.53
    train epoch (manual)                  idle     1.37      15.06    10.96
    train epoch (manual)                  loaded   1.90      24.64    12.94
    lessons/07_training_mnist.py --quick  idle     9.36      31.36    3.35
    lessons/07_training_mnist.py --quick  loaded   15.33     57.48    3.75
    lessons/08_experiments.py --quick     idle     39.95     119.67   3.00
    lessons/08_experiments.py --quick     loaded   35.02     73.43    2.10

:func:`blas_threads` sets the limit through `threadpoolctl <https://github.com/joblib/threadpoolctl>`_, the
library scikit-learn uses for the same purpose; ``tinygrad-edu train`` and every lesson call it. Set
``TINYGRAD_EDU_BLAS_THREADS`` to a number to choose another limit, or to ``default`` to leave BLAS alone
(the benchmark compares the two that way).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from threadpoolctl import threadpool_limits

from tinygrad_edu.errors import TinygradEduError

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_BLAS_THREADS = 1
ENV_VAR = "TINYGRAD_EDU_BLAS_THREADS"


def blas_thread_limit() -> int | None:
    """The limit in force: ``$TINYGRAD_EDU_BLAS_THREADS`` if set (``default``: None, no limit), else 1."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return DEFAULT_BLAS_THREADS
    if value.lower() == "default":
        return None
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise TinygradEduError(f"{ENV_VAR}={value!r}: expected a positive number of threads or 'default'")


def blas_threads(threads: int | None = None) -> threadpool_limits:
    """Limit BLAS to ``threads`` threads (default: :func:`blas_thread_limit`), now and until the returned
    object's ``restore_original_limits()`` is called; it is also a context manager.

    >>> from threadpoolctl import threadpool_info
    >>> with blas_threads(1):
    ...     all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    True
    """
    limit = blas_thread_limit() if threads is None else threads
    return threadpool_limits(limits=limit, user_api="blas")


def with_blas_threads(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``function`` under :func:`blas_threads`, restoring the previous limits afterwards."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with blas_threads():
            return function(*args, **kwargs)

    return wrapper
