"""The docstring examples of the learn modules (and the memory file) stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mistakelab.core.memory", "mistakelab.learn", "mistakelab.learn.source", "mistakelab.learn.formats",
           "mistakelab.learn.export", "mistakelab.learn.sft", "mistakelab.learn.correction", "mistakelab.learn.truth",
           "mistakelab.learn.retry", "mistakelab.learn.preference", "mistakelab.learn.stepwise",
           "mistakelab.learn.principles", "mistakelab.learn.train", "mistakelab.backends.local"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0


def test_gguf_lora_example() -> None:
    pytest.importorskip("gguf")
    result = doctest.testmod(importlib.import_module("mistakelab.learn.gguf_lora"))
    assert result.attempted > 0 and result.failed == 0
