"""Engine settings chosen by measurement on this machine, per model file (``models --tune``).

``n_seq`` decides how many sequences decode together. On a CPU a decode step's cost is
mostly reading the weights once, so more sequences per step raise throughput until the
matrix work itself dominates; past that point a larger ``n_seq`` only adds latency and KV
memory. :func:`tune` decodes the same short prompts at each candidate ``n_seq`` and keeps the
smallest one within ``tolerance`` of the best throughput measured.

``n_ctx_per_seq`` costs memory, not time: with one KV stream per sequence a step attends over
the cells a sequence uses, not the cells it may use. So it is the largest of 4096 and
2048 whose KV cache (``n_seq`` x ``n_ctx_per_seq`` x the model's KV bytes per token) fits in
an eighth of this machine's memory, and never more than the model was trained for.

The result is cached as JSON under the cache directory, keyed by the model file's hash and
this machine (host name, processor, core count); :func:`tuned_settings` reads it, and the
``local`` backend uses it for the options a spec leaves out.

Example:
    >>> t = Tuning(n_seq=16, n_ctx_per_seq=4096, tok_s={8: 40.0, 16: 61.0, 32: 62.5})
    >>> pick_n_seq(t.tok_s, tolerance=0.05)
    16
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from mistakelab.core.types import GenParams, Message

CANDIDATES = (4, 8, 16, 32, 48, 64)
CONTEXTS = (4096, 2048)


@dataclass
class Tuning:
    """What :func:`tune` chose, and the throughput (tokens/s) it measured per ``n_seq``."""

    n_seq: int
    n_ctx_per_seq: int
    tok_s: dict[int, float] = field(default_factory=dict)
    machine: str = ""
    measured_at: float = 0.0


def machine_id() -> str:
    """Host name, processor model and core count: where a tuning is valid."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}|{cpu}|{os.cpu_count()}"


def tuning_path(model_sha: str) -> Path:
    from mistakelab.models import cache_dir

    machine = hashlib.sha256(machine_id().encode()).hexdigest()[:12]
    return cache_dir() / "tuning" / f"{model_sha[:16]}-{machine}.json"


def pick_n_seq(tok_s: dict[int, float], tolerance: float = 0.05) -> int:
    """The smallest ``n_seq`` whose throughput is within ``tolerance`` of the best."""
    best = max(tok_s.values())
    return min(n for n, v in tok_s.items() if v >= (1.0 - tolerance) * best)


def pick_n_ctx(n_seq: int, kv_bytes_per_token: int, n_ctx_train: int, memory_bytes: int) -> int:
    """The largest context of :data:`CONTEXTS` whose KV cache fits an eighth of memory.

    Example:
        >>> pick_n_ctx(32, 12288, 32768, 24 * 2**30)
        4096
        >>> pick_n_ctx(64, 12288, 32768, 8 * 2**30)
        1024
    """
    for n_ctx in CONTEXTS:
        if n_ctx <= n_ctx_train and n_seq * n_ctx * kv_bytes_per_token <= memory_bytes // 8:
            return n_ctx
    return max(1024, min(CONTEXTS[-1], n_ctx_train) // 2)


def tuned_settings(model_sha: str) -> Tuning | None:
    """The cached tuning of this model file on this machine, or None."""
    path = tuning_path(model_sha)
    try:
        data = json.loads(path.read_text())
        data["tok_s"] = {int(k): float(v) for k, v in data.get("tok_s", {}).items()}
        t = Tuning(**data)
    except (OSError, ValueError, TypeError):
        return None
    return t if t.machine == machine_id() else None


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def tune(model: str, *, candidates: tuple[int, ...] = CANDIDATES, tokens: int = 48,
         say: Callable[[str], None] = print) -> Tuning:
    """Measure decode throughput at each candidate ``n_seq``; cache and return the choice."""
    from mistakelab.backends.local.backend import LocalBackend, release_engine
    from mistakelab.backends.local.state import EngineSettings
    from mistakelab.models import file_sha256, resolve_model

    path = resolve_model(model)
    tok_s: dict[int, float] = {}
    kv_bytes, n_ctx_train = 0, 0
    for n in candidates:
        b = LocalBackend(model, EngineSettings(n_seq=n, n_ctx_per_seq=512, prefix_cache=False))
        try:
            kv_bytes, n_ctx_train = kv_bytes_per_token(b), b.engine.model.n_ctx_train
            tok_s[n] = asyncio.run(_measure(b, n, tokens))
        finally:
            release_engine(b.engine)
        say(f"n_seq {n:>3}: {tok_s[n]:7.1f} tok/s")
        if len(tok_s) >= 2 and tok_s[n] < 0.97 * max(tok_s.values()):
            break  # past the peak: larger batches only add latency
    n_seq = pick_n_seq(tok_s)
    t = Tuning(n_seq=n_seq, n_ctx_per_seq=pick_n_ctx(n_seq, kv_bytes, n_ctx_train, _memory_bytes()),
               tok_s=tok_s, machine=machine_id(), measured_at=time.time())
    out = tuning_path(file_sha256(path))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(t), indent=1))
    return t


def kv_bytes_per_token(backend) -> int:  # type: ignore[no-untyped-def]
    """Bytes of K and V cache one token takes (f16 cells), from the model's shape."""
    import llama_cpp.llama_cpp as L

    m = backend.engine.model.ptr
    n_layer, n_embd = L.llama_model_n_layer(m), L.llama_model_n_embd(m)
    n_head, n_head_kv = L.llama_model_n_head(m), L.llama_model_n_head_kv(m)
    return 2 * 2 * n_layer * (n_embd // max(n_head, 1)) * n_head_kv


async def _measure(b, n: int, tokens: int) -> float:  # type: ignore[no-untyped-def]
    """Tokens/s of n different short prompts decoding ``tokens`` each (after a warm-up)."""
    await b.generate([Message(role="user", content="Hi")], GenParams(max_tokens=2))
    params = GenParams(temperature=0.7, max_tokens=tokens, min_tokens=tokens)
    with b.engine.hold():
        tasks = [asyncio.ensure_future(b.generate(
            [Message(role="user", content=f"Task {i}: write a sentence about the number {i}.")],
            params.with_(seed=i))) for i in range(n)]
        await asyncio.sleep(0)
    t0 = time.perf_counter()
    done = await asyncio.gather(*tasks)
    return sum(c.completion_tokens for c in done) / (time.perf_counter() - t0)
