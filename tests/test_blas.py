"""The one BLAS-thread limit that train and the lessons use (tinygrad_edu.training.blas)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info

from tinygrad_edu.training.blas import ENV_VAR, blas_thread_limit, blas_threads, with_blas_threads
from tinygrad_edu.errors import TinygradEduError


def blas_thread_counts() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_default_is_one_thread_and_restored_afterwards(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert blas_thread_limit() == 1
    before = blas_thread_counts()
    with blas_threads():
        assert blas_thread_counts() and all(n == 1 for n in blas_thread_counts())
    assert blas_thread_counts() == before


def test_the_decorator_limits_only_during_the_call(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    before = blas_thread_counts()

    @with_blas_threads
    def inside() -> list[int]:
        return blas_thread_counts()

    assert all(n == 1 for n in inside())
    assert blas_thread_counts() == before


@pytest.mark.parametrize(("value", "limit"), [("2", 2), ("default", None), ("DEFAULT", None), ("", 1)])
def test_environment_variable_chooses_another_limit(monkeypatch, value, limit):
    monkeypatch.setenv(ENV_VAR, value)
    assert blas_thread_limit() == limit


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_environment_values_are_named(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(TinygradEduError, match=f"{ENV_VAR}={value!r}"):
        blas_thread_limit()
