"""Engine state: settings, statistics, hook payloads and the per-request bookkeeping.

A *group* is one prompt with k *branches* (requested completions); a branch that holds one of
the context's sequence slots is a *seq*, in one of four states: ``prefill`` (evaluating the
prompt), ``wait`` (a sibling is evaluating it), ``ready`` (prompt KV shared; first token still
to sample) and ``decode``. A seq's slot holds KV cells for positions ``0..pos-1``: the prompt,
then every generated token but the last sampled one (:meth:`Seq.cell_tokens`).

Example:
    >>> EngineSettings(n_seq=4).n_ctx_per_seq
    2048
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from mistakelab.backends.local.output import TextOutput
from mistakelab.core.stopping import watch_of
from mistakelab.core.types import GenParams, TokenLogprob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    """Context shape: ``n_seq`` parallel sequences of ``n_ctx_per_seq`` tokens each."""

    n_seq: int = 32  # most sequences per step; ``mistakelab models --tune`` measures this machine's
    n_ctx_per_seq: int = 2048
    n_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    n_batch: int = 512
    n_ubatch: int = 512  # llama.cpp's physical batch: a longer prompt chunk is split
    kv_unified: bool = False  # True: one KV cache for all sequences; False: a stream each
    flash_attn: bool = False  # on the CPU its per-cell loop decodes long contexts slower (engine docs)
    kv_type: str = "f16"  # "q8_0": half the KV bytes (flash attention only)
    prefix_cache: bool = True  # freed slots keep their KV (prompt + generated) for later prompts
    lora: str | None = None  # a GGUF LoRA adapter applied to every request (``mistakelab train``)
    lora_scale: float = 1.0


@dataclass
class EngineStats:
    """Counters since start (or :meth:`Engine.reset_stats`)."""

    decode_steps: int = 0  # llama_decode calls
    prompt_tokens_evaluated: int = 0  # prompt tokens put through the model
    prompt_tokens_reused: int = 0  # prompt tokens found in a slot's KV (prefix cache)
    tokens_generated: int = 0
    max_seqs_per_step: int = 0  # most distinct sequences in one decode batch
    shared_steps: int = 0  # decode steps whose batch held more than one sequence
    kv_copies: int = 0  # branches that reused a prompt via llama_memory_seq_cp
    slot_moves: int = 0  # live sequences moved down to close a gap (one KV stream each)
    score_tokens_evaluated: int = 0  # tokens put through the model by score jobs
    tokens_scored: int = 0  # completion tokens given a logprob by score jobs
    requests_done: int = 0
    errors: int = 0
    decode_s: float = 0.0
    sample_s: float = 0.0  # sampling, logprob statistics and scoring statistics


@dataclass
class StepLogits:
    """What a logits hook sees for one step; called on the engine thread.

    ``logits`` is a fresh (rows x vocab) float32 copy of the raw logits of every row sampled
    this step (the hook may keep it); ``tags`` are the ``tag`` values given to
    :meth:`Engine.submit`; ``positions`` the sequence position each sampled token will take.
    """

    tags: list[Any]
    logits: np.ndarray
    tokens: np.ndarray
    positions: list[int]


LogitsHook = Callable[[StepLogits], None]


def call_hooks(hooks: Sequence[LogitsHook], rows: Sequence[tuple["Seq", np.ndarray]],
               tokens: np.ndarray) -> None:
    """Show every hook this step's sampled rows (seq, logits) and tokens; a hook that raises
    is logged, never propagated: a broken hook must not stop generation."""
    step = StepLogits([s.branch.tag for s, _ in rows], np.stack([r for _, r in rows]),
                      tokens.copy(), [s.pos for s, _ in rows])
    for hook in hooks:
        try:
            hook(step)
        except Exception:
            log.exception("logits hook failed")
PREFILL, WAIT, READY, DECODE = "prefill", "wait", "ready", "decode"


class Branch:
    def __init__(self, params: GenParams, future: asyncio.Future, loop: Any, tag: Any) -> None:
        self.params, self.future, self.loop, self.tag = params, future, loop, tag
        self.rng = np.random.default_rng(params.seed)
        self.t0 = time.perf_counter()


class Group:
    def __init__(self, tokens: list[int], branches: list[Branch]) -> None:
        self.tokens = tokens
        self.pending: deque[Branch] = deque(branches)
        self.members: list[Seq] = []
        self.n_eval = 0  # prompt tokens already in the leader's KV
        self.prompt_done = False
        self.first_logits: np.ndarray | None = None  # kept while branches still wait


class Seq:
    def __init__(self, slot: int, branch: Branch, group: Group, state: str) -> None:
        self.slot, self.branch, self.group, self.state = slot, branch, group, state
        self.pos = 0  # KV positions filled
        self.next_token = -1
        self.generated: list[int] = []  # sampled token ids, in order
        self.out = TextOutput(branch.params.stop, boxed=branch.params.stop_after_boxed)
        self.logprobs: list[TokenLogprob] | None = [] if branch.params.logprobs else None
        self.watch = watch_of(branch.params)  # the confidence stop, when the request asks for one
        self.first_row: np.ndarray | None = None

    @property
    def n_gen(self) -> int:
        return len(self.generated)

    def cell_tokens(self) -> list[int] | None:
        """The tokens whose KV cells this seq's slot holds complete (positions 0..len-1).

        Prompt, then generated tokens that were fed back (the last sampled token has no cell
        yet); while the prompt is evaluated, the part already in the KV; None while waiting.
        """
        g = self.group
        if self.state == PREFILL:
            return g.tokens[: g.n_eval]
        if self.state == WAIT:
            return None
        n_fed = self.pos - len(g.tokens)
        return [*g.tokens, *self.generated[:n_fed]] if n_fed > 0 else g.tokens
