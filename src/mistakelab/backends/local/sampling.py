"""Token sampling and distribution statistics on logits rows, in numpy.

Each row is sampled with its own parameters and its own ``numpy.random.Generator``, so a
request's draws depend only on its seed and its logits. Work per row is a few O(vocab)
float32 passes: top-k uses ``argpartition``, top-p sorts only the candidates that can be in
the nucleus, and the softmax is computed once.

Statistics (:func:`distribution_stats`) describe the model's raw next-token distribution
(temperature 1, no truncation) and are computed for many rows at once.

Example:
    >>> import numpy as np
    >>> row = np.array([0.0, 3.0, 1.0], dtype=np.float32)
    >>> sample_row(row, temperature=0.0, top_k=0, top_p=1.0, rng=np.random.default_rng(0))
    1
    >>> stats = distribution_stats(np.stack([row, row]), np.array([1, 2]), top_n=1)
    >>> logp = row - np.log(np.exp(row).sum())  # KL(U || p) = -log V - mean_j log p_j
    >>> bool(np.allclose(stats.kl_from_uniform, -np.log(3) - logp.mean()))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from mistakelab.core.types import GenParams, TokenLogprob


def _pick(weights: np.ndarray, u: float) -> int:
    """Index where the running sum of ``weights`` first exceeds ``u`` (inverse CDF)."""
    cumulative = np.cumsum(weights.astype(np.float64))
    return min(int(np.searchsorted(cumulative, u, side="right")), len(cumulative) - 1)


def sample_row(
    logits: np.ndarray, *, temperature: float, top_k: int, top_p: float, rng: np.random.Generator
) -> int:
    """One token id from a 1-D logits row. ``temperature <= 0`` is greedy (argmax).

    The few tokens holding most of the mass (probability >= t, at most 1/t of them; t tried
    from 1e-3 down) are found with one comparison pass. Top-p sorts only those: the nucleus
    is a prefix of them once their mass reaches ``top_p``, so it is exact. Plain sampling
    draws u and searches the head first and the long tail only when u falls there.
    """
    if temperature <= 0.0:
        return int(np.argmax(logits))
    x = np.asarray(logits, dtype=np.float32)
    cand: np.ndarray | None = None
    if 0 < top_k < x.shape[0]:
        cand = np.argpartition(x, x.shape[0] - top_k)[x.shape[0] - top_k:]
        x = x[cand]
    p = np.exp((x - x.max()) * np.float32(1.0 / temperature))  # unnormalised, max 1
    total = float(p.sum(dtype=np.float64))
    goal = top_p * total if top_p < 1.0 else 0.5 * total
    thr = 1e-3 * total
    while True:
        head = np.flatnonzero(p >= thr)
        head_mass = float(p[head].sum(dtype=np.float64))
        if thr == 0.0 or head_mass >= goal:
            break
        thr = thr * 1e-2 if thr > 1e-12 * total else 0.0
    if top_p < 1.0:
        order = head[np.argsort(-p[head], kind="stable")]
        mass = np.cumsum(p[order].astype(np.float64))
        keep = order[: int(np.searchsorted(mass, goal)) + 1]  # smallest prefix reaching top_p
        j = int(keep[_pick(p[keep], rng.random() * float(p[keep].sum(dtype=np.float64)))])
    else:
        u = rng.random() * total
        if u < head_mass:
            j = int(head[_pick(p[head], u)])
        else:  # rare: the draw landed in the tail
            tail = np.flatnonzero(p < thr)
            j = int(tail[_pick(p[tail], u - head_mass)]) if tail.size else int(head[-1])
    return int(cand[j]) if cand is not None else j


@dataclass
class DistributionStats:
    """Per-row statistics of softmax(logits); arrays have one entry per row."""

    token_logprob: np.ndarray  # log p(sampled token)
    entropy: np.ndarray  # H(p) in nats
    # KL(U || p) = -log V - mean_j log p_j: self-certainty (Kang et al. 2025). Not KL(p || U),
    # which is log V - H(p) and would carry nothing beyond the entropy. Over the finite
    # logits only (a masked token would make it infinite).
    kl_from_uniform: np.ndarray
    top_ids: np.ndarray  # (rows, top_n) most likely ids, best first
    top_logprobs: np.ndarray  # (rows, top_n)
    tokens: np.ndarray  # (rows,) the sampled ids

    def entry(self, row: int, top_n: int, text: Callable[[int], str]) -> TokenLogprob:
        """Row ``row`` as a :class:`TokenLogprob`; ``text`` renders a token id."""
        return TokenLogprob(
            token=text(int(self.tokens[row])),
            logprob=float(self.token_logprob[row]),
            top=[(text(int(t)), float(v))
                 for t, v in zip(self.top_ids[row, :top_n], self.top_logprobs[row, :top_n])],
            entropy=float(self.entropy[row]),
            kl_from_uniform=float(self.kl_from_uniform[row]),
        )


def _top(z: np.ndarray, n: int) -> np.ndarray:
    """Ids of the ``n`` largest entries of row ``z``, best first (ties: lower id first)."""
    width = 4.0
    while True:  # the top n usually sit within a few logits of the max: avoid a full partition
        cand = np.flatnonzero(z >= -width)
        if cand.size >= n or width > 1e30:
            break
        width *= 4.0
    if cand.size < n:  # fewer finite entries than asked: take everything
        cand = np.arange(z.shape[0])
    return cand[np.argsort(-z[cand], kind="stable")[:n]]


def distribution_stats(
    logits: np.ndarray, tokens: np.ndarray, top_n: int = 0, *, overwrite: bool = False
) -> DistributionStats:
    """Exact statistics of softmax over each full row of ``logits`` (rows x vocab), vectorized.

    Work is float32: one ``exp`` pass (most of the cost), a pairwise sum and a BLAS dot per
    row; entropy is accurate to ~1e-6 nats at a 152k vocabulary. ``overwrite`` lets the
    function reuse ``logits`` (a float32 array the caller no longer needs) as scratch.
    """
    x = np.asarray(logits, dtype=np.float32)
    rows, vocab = x.shape
    z = np.subtract(x, x.max(axis=1, keepdims=True), out=x if overwrite else None)
    e = np.exp(z)
    total = e.sum(axis=1).astype(np.float64)
    lse = np.log(total)
    tokens = np.asarray(tokens)
    token_lp = z[np.arange(rows), tokens].astype(np.float64) - lse
    top_n = max(0, min(top_n, vocab))
    top_ids = (np.array([_top(z[r], top_n) for r in range(rows)], dtype=np.int64) if top_n
               else np.zeros((rows, 0), dtype=np.int64))
    top_lps = np.take_along_axis(z, top_ids, axis=1).astype(np.float64) - lse[:, None]
    with np.errstate(invalid="ignore"):  # sum(e * z) without a temporary; NaN fixed below
        ez = (e[:, None, :] @ z[:, :, None])[:, 0, 0].astype(np.float64)
    zsum = z.sum(axis=1, dtype=np.float64)
    n_finite = np.full(rows, float(vocab))
    masked = ~np.isfinite(zsum)  # rows with masked (-inf) logits
    if masked.any():  # 0 * -inf = NaN in E[z]; the mean of z is over the finite logits only
        zm = z[masked]
        fin = np.isfinite(zm)
        ez[masked] = (e[masked][:, None, :] @ np.maximum(zm, np.float32(-1e30))[:, :, None])[:, 0, 0]
        n_finite[masked] = fin.sum(axis=1)
        zsum[masked] = np.where(fin, zm, 0.0).sum(axis=1, dtype=np.float64)
    entropy = np.maximum(lse - ez / total, 0.0)  # H = lse - E[z]
    kl_u_p = np.maximum(lse - zsum / n_finite - np.log(n_finite), 0.0)  # -log V - mean(z - lse)
    return DistributionStats(token_lp, entropy, kl_u_p, top_ids, top_lps, tokens)


def sample_batch(rows: Sequence[tuple[np.ndarray, GenParams, np.random.Generator, bool]],
                 eog: Callable[[], Sequence[int]]) -> np.ndarray:
    """One token per row ``(logits, params, rng, ban_eog)``; ``ban_eog``: the request is below
    its ``min_tokens``, so the ``eog()`` tokens cannot be drawn (the row itself is not changed;
    ``eog`` is only called then: finding them scans the vocabulary once)."""
    tokens = np.empty(len(rows), dtype=np.int64)
    for k, (row, p, rng, ban_eog) in enumerate(rows):
        if ban_eog:
            row = row.copy()
            row[list(eog())] = -np.inf
        tokens[k] = sample_row(row, temperature=p.temperature, top_k=p.top_k, top_p=p.top_p, rng=rng)
    return tokens


def logprob_entries(rows: Sequence[np.ndarray], tokens: np.ndarray, top_ns: Sequence[int | None],
                    text: Callable[[int], str]) -> list[TokenLogprob | None]:
    """The statistics entry of each drawn token, for the rows whose ``top_ns`` is not None
    (how many alternatives to list), computed in one vectorized pass; None elsewhere."""
    want = [k for k, n in enumerate(top_ns) if n is not None]
    out: list[TokenLogprob | None] = [None] * len(rows)
    if not want:
        return out
    stack = np.stack([rows[k] for k in want])  # a fresh copy: scratch for the stats
    stats = distribution_stats(stack, tokens[want], max(top_ns[k] or 0 for k in want), overwrite=True)
    for j, k in enumerate(want):
        out[k] = stats.entry(j, top_ns[k] or 0, text)
    return out
