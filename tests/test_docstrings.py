"""The examples in the core's docstrings run and print what they claim."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["tinygrad_edu", "tinygrad_edu.tensor", "tinygrad_edu.gradcheck"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
