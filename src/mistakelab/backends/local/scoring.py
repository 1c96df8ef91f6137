"""Scoring a given completion: its tokens are evaluated like a prompt, with logits kept.

A :class:`ScoreJob` holds one sequence slot like a generation request, but it never samples:
the prompt and completion tokens go through ``llama_decode`` in ``n_batch``-sized chunks
(usually one), and every position from the last prompt token on is an output row. Row ``p``
is the model's distribution for token ``p + 1``, so the C completion tokens need C rows,
and the last completion token is never evaluated (nothing reads its KV or logits).

Statistics are computed with :func:`~.sampling.distribution_stats` over blocks of rows
(vectorized over positions; the block bounds the float32 temporaries to ~64 x vocab).

Agreement with generation (smollm2-135m, this CPU build): when prompt + completion is under
64 tokens the batch runs the same kernels as one-token decoding and the scores equal the
generation's logprobs bit for bit; from 64 tokens llama.cpp switches matmul kernels, and
logprobs and entropies drift by 0.04 nats on average (max 0.56 seen). Generation itself
drifts the same way when it shares a batch (see the engine docs).

Example:
    >>> import numpy as np
    >>> rows = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]], dtype=np.float32))
    >>> lps = score_rows(rows, np.array([0, 2]), 0, str)
    >>> [round(lp.logprob, 4) for lp in lps], [lp.token for lp in lps]
    ([-0.6931, -0.2231], ['0', '2'])
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

import numpy as np

from mistakelab.backends.local.sampling import distribution_stats
from mistakelab.backends.local.state import Branch
from mistakelab.core.types import Completion, TokenLogprob

if TYPE_CHECKING:  # native imports llama_cpp; the pure parts must import without it
    from mistakelab.backends.local.native import Batch

SCORE = "score"
BLOCK_ROWS = 64


class ScoreJob:
    """Score ``tokens[n_prompt:]`` given ``tokens[:n_prompt]``; ``text`` is returned as is."""

    state = SCORE

    def __init__(self, tokens: list[int], n_prompt: int, text: str, branch: Branch) -> None:
        self.tokens, self.n_prompt, self.text, self.branch = tokens, n_prompt, text, branch
        self.slot = -1
        self.n_eval = 0  # tokens already in the KV
        self.logprobs: list[TokenLogprob] = []

    @property
    def n_completion(self) -> int:
        return len(self.tokens) - self.n_prompt

    @property
    def done(self) -> bool:
        return self.n_eval >= len(self.tokens) - 1

    def add_chunk(self, batch: Batch, budget: int) -> tuple[int, int, int]:
        """Append up to ``budget`` tokens to ``batch``.

        Returns (batch index of the first output row, first and end position of the rows);
        the index is -1 when this chunk has no output rows (a long prompt's first part).
        """
        start = self.n_eval
        end = min(len(self.tokens) - 1, start + budget)
        first_out = max(start, self.n_prompt - 1)
        idx = -1
        for p in range(start, end):
            i = batch.add(self.tokens[p], p, self.slot, p >= first_out)
            if p == first_out:
                idx = i
        self.n_eval = end
        return idx, first_out, end

    def result(self, error: str | None = None) -> Completion:
        return Completion(
            text="" if error else self.text,
            prompt_tokens=self.n_prompt,
            completion_tokens=self.n_completion,
            finish_reason="error" if error else "stop",
            latency_s=time.perf_counter() - self.branch.t0,
            logprobs=None if error else self.logprobs,
            error=error,
        )


def score_rows(
    logits: np.ndarray, targets: np.ndarray, top_n: int, text: Callable[[int], str]
) -> list[TokenLogprob]:
    """One :class:`TokenLogprob` per row of ``logits`` (rows x vocab) for token ``targets[r]``."""
    out: list[TokenLogprob] = []
    for b0 in range(0, logits.shape[0], BLOCK_ROWS):
        block = logits[b0:b0 + BLOCK_ROWS]
        stats = distribution_stats(block, targets[b0:b0 + BLOCK_ROWS], top_n)
        out.extend(stats.entry(r, top_n, text) for r in range(block.shape[0]))
    return out
