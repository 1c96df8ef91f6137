"""Thin wrappers over the llama.cpp C API (``llama_cpp.llama_cpp``): model, vocab, context.

Loaded models are shared per process (reference-counted by path), so several engines over one
GGUF map the weights once. llama.cpp's own logging is silenced unless
``MISTAKELAB_LLAMA_VERBOSE=1``.

Example:
    >>> m = acquire_model("model.gguf")  # doctest: +SKIP
    >>> m.tokenize("Hello")[:1], m.n_vocab  # doctest: +SKIP
    ([9707], 151936)
    >>> release_model(m)  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Any

import llama_cpp.llama_cpp as L

_init_lock = threading.Lock()
_initialized = False
_log_callback: Any = None  # kept referenced: llama.cpp calls it for the life of the process


class NativeError(RuntimeError):
    """llama.cpp refused to load a model or create a context."""


def init_llama() -> None:
    """Initialise the llama.cpp backend once per process and set its logging."""
    global _initialized, _log_callback
    with _init_lock:
        if _initialized:
            return
        if os.environ.get("MISTAKELAB_LLAMA_VERBOSE", "") != "1":
            _log_callback = L.llama_log_callback(lambda level, text, user_data: None)
            L.llama_log_set(_log_callback, None)
        L.llama_backend_init()
        _initialized = True


class LlamaModel:
    """A loaded GGUF: weights, vocabulary and metadata."""

    def __init__(self, path: Path) -> None:
        init_llama()
        self.path = path
        params = L.llama_model_default_params()
        self.ptr = L.llama_model_load_from_file(str(path).encode(), params)
        if not self.ptr:
            raise NativeError(f"llama.cpp could not load {path}")
        self.vocab = L.llama_model_get_vocab(self.ptr)
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(L.llama_model_n_ctx_train(self.ptr))
        self.bos = int(L.llama_vocab_bos(self.vocab))
        self.add_bos = bool(L.llama_vocab_get_add_bos(self.vocab))
        self._pieces: dict[tuple[int, bool], bytes] = {}
        self._eog: dict[int, bool] = {}
        self._eog_ids: list[int] | None = None
        self._lock = threading.Lock()  # guards the small caches only

    def meta(self, key: str) -> str | None:
        """A GGUF metadata value as text, or None."""
        size = 1 << 12
        while True:
            buf = ctypes.create_string_buffer(size)
            n = L.llama_model_meta_val_str(self.ptr, key.encode(), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", errors="replace")
            size = n + 1

    def piece(self, token: int, special: bool = False) -> bytes:
        """Bytes of one token (``special`` renders control tokens such as ``<|im_end|>``)."""
        key = (token, special)
        got = self._pieces.get(key)
        if got is None:
            buf = ctypes.create_string_buffer(64)
            n = L.llama_token_to_piece(self.vocab, token, buf, 64, 0, special)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = L.llama_token_to_piece(self.vocab, token, buf, -n, 0, special)
            got = buf.raw[:max(n, 0)]
            with self._lock:
                self._pieces[key] = got
        return got

    def is_eog(self, token: int) -> bool:
        got = self._eog.get(token)
        if got is None:
            got = bool(L.llama_vocab_is_eog(self.vocab, token))
            self._eog[token] = got
        return got

    def eog_tokens(self) -> list[int]:
        """Every end-of-generation token id (scanned once; cached)."""
        if self._eog_ids is None:
            self._eog_ids = [t for t in range(self.n_vocab) if bool(L.llama_vocab_is_eog(self.vocab, t))]
        return self._eog_ids

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed; BOS once, if the model uses it)."""
        data = text.encode("utf-8")
        bos_text = ""
        if self.bos >= 0:
            bos_text = self.piece(self.bos, special=True).decode("utf-8", "replace")
        add_bos = self.add_bos and self.bos >= 0 and not (bos_text and text.startswith(bos_text))
        tokens = self._tokenize(data, special=True)
        return [self.bos, *tokens] if add_bos else tokens

    def tokenize_text(self, text: str) -> list[int]:
        """Tokens of plain text: no BOS, and ``<|...|>`` markers stay literal text."""
        return self._tokenize(text.encode("utf-8"), special=False)

    def _tokenize(self, data: bytes, special: bool) -> list[int]:
        cap = len(data) + 8
        buf = (L.llama_token * cap)()
        n = L.llama_tokenize(self.vocab, data, len(data), buf, cap, False, special)
        if n < 0:
            cap = -n
            buf = (L.llama_token * cap)()
            n = L.llama_tokenize(self.vocab, data, len(data), buf, cap, False, special)
        return list(buf[:n])

    def free(self) -> None:
        if self.ptr:
            L.llama_model_free(self.ptr)
            self.ptr = None


_models: dict[str, list[Any]] = {}  # resolved path -> [model, refcount]
_models_lock = threading.Lock()


def acquire_model(path: str | Path) -> LlamaModel:
    """Load (or share) the model at ``path``; pair with :func:`release_model`."""
    key = str(Path(path).resolve())
    with _models_lock:
        entry = _models.get(key)
        if entry is None:
            entry = _models[key] = [LlamaModel(Path(key)), 0]
        entry[1] += 1
        return entry[0]


def release_model(model: LlamaModel) -> None:
    with _models_lock:
        key = str(model.path)
        entry = _models.get(key)
        if entry is None or entry[0] is not model:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del _models[key]
            model.free()


KV_TYPES = {"f16": 1, "q8_0": 8}  # ggml type ids of the KV cells


def create_context(
    model: LlamaModel, *, n_seq: int, n_ctx: int, n_batch: int, n_threads: int,
    n_ubatch: int = 512, kv_unified: bool = False, flash_attn: bool = False, kv_type: str = "f16",
) -> Any:
    """A context holding ``n_seq`` sequences in ``n_ctx`` KV cells.

    ``kv_unified``: one cache shared by all sequences (a decode step attends over every
    sequence's cells, masked) or one stream of ``n_ctx / n_seq`` cells per sequence (each
    sequence attends over its own cells only). ``flash_attn``: llama.cpp's fused attention,
    which on the CPU skips masked cells. ``kv_type``: ``f16`` or ``q8_0`` cells (half the
    bytes; needs flash attention). The engine module says which is faster, and why.
    """
    params = L.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = n_batch
    params.n_ubatch = min(n_batch, n_ubatch)
    params.n_seq_max = n_seq
    params.kv_unified = kv_unified
    params.flash_attn_type = (L.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn
                              else L.LLAMA_FLASH_ATTN_TYPE_DISABLED)
    params.n_threads = n_threads
    params.n_threads_batch = n_threads
    params.no_perf = True
    if kv_type != "f16":
        if kv_type not in KV_TYPES:
            raise NativeError(f"kv_type {kv_type!r}: one of {sorted(KV_TYPES)}")
        params.type_k = params.type_v = KV_TYPES[kv_type]
    ctx = L.llama_init_from_model(model.ptr, params)
    if not ctx:
        raise NativeError(f"llama.cpp could not create a context (n_ctx={n_ctx}, n_seq={n_seq})")
    return ctx


def copy_cells(mem: Any, src: int, dst: int, p0: int, p1: int, *, unified: bool) -> None:
    """Give sequence ``dst`` the KV cells of ``src`` at positions [p0, p1) (-1: open end).

    In a unified cache this only tags cells. Between streams llama.cpp copies whole streams
    (the data moves at the next decode), so all of ``src`` is copied and what lies past ``p1``
    dropped from ``dst``.
    """
    if unified:
        L.llama_memory_seq_cp(mem, src, dst, p0, p1)
        return
    L.llama_memory_seq_cp(mem, src, dst, -1, -1)
    if p1 >= 0:
        L.llama_memory_seq_rm(mem, dst, p1, -1)


def attach_lora(model: LlamaModel, ctx: Any, path: str, scale: float) -> Any:
    """Load a GGUF LoRA adapter for ``model`` and apply it to every decode of ``ctx``; free the
    returned adapter with ``llama_adapter_lora_free`` after the context."""
    adapter = L.llama_adapter_lora_init(model.ptr, str(path).encode())
    if not adapter:
        raise NativeError(f"llama.cpp could not load the LoRA adapter {path} for {model.path.name}")
    adapters = (L.llama_adapter_lora_p_ctypes * 1)(adapter)
    if L.llama_set_adapters_lora(ctx, adapters, 1, (ctypes.c_float * 1)(scale)) != 0:
        L.llama_adapter_lora_free(adapter)
        raise NativeError(f"llama.cpp could not apply the LoRA adapter {path}")
    return adapter


def logit_rows(ctx: Any, i: int, n: int, n_vocab: int) -> Any:
    """Logits of batch indices i..i+n-1 (all output rows) as one zero-copy (n, vocab) view.

    Valid until the next ``llama_decode``.
    """
    import numpy as np

    first = L.llama_get_logits_ith(ctx, i)
    if n == 1:
        return np.ctypeslib.as_array(first, shape=(1, n_vocab))
    last = L.llama_get_logits_ith(ctx, i + n - 1)
    gap = ctypes.cast(last, ctypes.c_void_p).value - ctypes.cast(first, ctypes.c_void_p).value
    if gap == (n - 1) * n_vocab * 4:  # llama.cpp stores output rows in batch order
        return np.ctypeslib.as_array(first, shape=(n, n_vocab))
    return np.stack([np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, k), shape=(n_vocab,))
                     for k in range(i, i + n)])


class Batch:
    """A reusable ``llama_batch`` with numpy views on its arrays (one sequence id per token)."""

    def __init__(self, capacity: int) -> None:
        import numpy as np

        self.capacity = capacity
        self.raw = L.llama_batch_init(capacity, 0, 1)
        self.token = np.ctypeslib.as_array(self.raw.token, shape=(capacity,))
        self.pos = np.ctypeslib.as_array(self.raw.pos, shape=(capacity,))
        self.logits = np.ctypeslib.as_array(self.raw.logits, shape=(capacity,))
        np.ctypeslib.as_array(self.raw.n_seq_id, shape=(capacity,))[:] = 1
        self._seq = [self.raw.seq_id[i] for i in range(capacity)]
        self.seq = np.zeros(capacity, dtype=np.int64)  # mirror of seq_id[i][0]
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def add(self, token: int, pos: int, seq: int, output: bool) -> int:
        """Append one token; returns its index in the batch."""
        i = self.n
        self.token[i] = token
        self.pos[i] = pos
        self._seq[i][0] = seq
        self.seq[i] = seq
        self.logits[i] = 1 if output else 0
        self.n = i + 1
        return i

    def sort_by_sequence(self) -> Any:
        """Reorder the tokens by (sequence, position); returns ``new_index[old_index]``.

        With one KV stream per sequence, llama.cpp splits a batch into micro-batches of
        consecutive sequence ids in batch order; sorted, a step is one micro-batch (plus the
        rest of any long prompt chunk) instead of one per out-of-order run.
        """
        import numpy as np

        n = self.n
        key = self.seq[:n] * (1 << 32) + self.pos[:n]
        order = np.argsort(key, kind="stable")
        new_index = np.empty(n, dtype=np.int64)
        new_index[order] = np.arange(n)
        if np.array_equal(order, np.arange(n)):
            return new_index
        for arr in (self.token, self.pos, self.logits, self.seq):
            arr[:n] = arr[:n][order]
        for i in range(n):
            self._seq[i][0] = int(self.seq[i])
        return new_index

    def decode(self, ctx: Any) -> int:
        self.raw.n_tokens = self.n
        return int(L.llama_decode(ctx, self.raw))

    def free(self) -> None:
        if self.raw is not None:
            L.llama_batch_free(self.raw)
            self.raw = None
