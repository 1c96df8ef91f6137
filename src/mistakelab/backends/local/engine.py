"""A continuous-batching llama.cpp engine: one thread decodes every active sequence together.

Design:

* One context holds ``n_seq`` sequences, by default each in a KV *stream* of its own
  (``kv_unified = False``, ``n_ctx_per_seq`` cells each), flash attention off. Each engine step
  builds ONE ``llama_decode`` batch: the next token of every generating sequence, then prompt
  chunks of newly admitted requests up to ``n_batch`` tokens. Requests join between steps and
  leave when done (their KV cells are removed); requests beyond ``n_seq`` wait in a FIFO queue.
* Why streams: in a unified cache every sequence's query is scored against the cells of
  *every* sequence (masked), so a step's attention grows with the sum of all contexts; with a
  stream each, with the contexts a sequence holds. Flash attention (``flash_attn``) is off: its
  CPU kernel walks the cells one by one per query head, and at 8 sequences x 1,600 tokens it
  decoded 28.3 tok/s against 44.5 without it (q8_0 KV cells: 26.0), measured side by side
  under load (``bench/local_throughput.py --layouts streams,streams+fa,streams+fa+q8``). A
  streams batch is split by llama.cpp into micro-batches
  of *consecutive* sequence ids, each a pass over the weights, so the batch is sorted by
  sequence and live sequences are moved down into free slots (:meth:`.Scheduler.compact`;
  a stream copy, about 12 KB a token on qwen2.5-coder-0.5b) to keep one pass a step. The
  measurements behind the defaults are in ``bench/local_throughput.py``'s docstring and the
  README.
* A *group* is one prompt with k branches (k samples). Its prompt is evaluated once, into the
  leader's sequence; the KV is then copied to the other branches (``llama_memory_seq_cp``: a
  whole-stream copy between streams, a tag in a unified cache), and every branch samples its
  first token from the same logits row with its own seed. Branches that did not fit wait and
  later reuse the prompt from a live sibling (or a finished sibling's recycled slot).
* Sampling is done in numpy per row with a per-request ``numpy.random.Generator(seed)``; see
  :mod:`.sampling`. Results go back to asyncio with ``loop.call_soon_threadsafe``.
* Prefix cache (``EngineSettings.prefix_cache``, on by default): a freed slot keeps the KV
  of its prompt and of the tokens it generated; a later prompt (the conversation's next turn,
  a continuation) starts from the longest token prefix it shares with a kept or live sequence
  and evaluates only the rest (see :mod:`.scheduler`).
* Logits hooks (:meth:`Engine.add_logits_hook`) see the raw logits of every sampled row.
* Scoring (:meth:`Engine.submit_score`) takes a slot and evaluates prompt + given completion
  like a prompt, keeping one logits row per completion token (:mod:`.scoring`). Per-token
  statistics are computed only there and for requests with ``GenParams.logprobs``.

Determinism (measured on this CPU build, 2 threads, smollm2-135m and qwen2.5-coder-0.5b):

* A request run alone is reproducible: same seed -> same tokens (8/8 prompts, 64 tokens,
  greedy and T=0.7), whatever ran before it, with ``prefix_cache`` off. With it on, what ran
  before decides how much of the prompt is reused, and evaluating the rest in a smaller batch
  changes rounding the same way batch sharing does (smollm2: first-token logits differ by 0.2
  on average, greedy text diverged in 2 of 3 prompts). Turn it off for order-independent runs.
* The same set of requests started together (see :meth:`Engine.hold`) is reproducible too.
* Sharing a batch CAN change a request's output. llama.cpp's CPU kernels take different
  paths for different batch shapes (and even for the row a sequence occupies), so logits
  differ by up to ~1 (smollm2, Q4_1) from the lone run; once a near-tie is hit the text
  diverges. Lone vs shared, 8 prompts x 64 tokens: qwen 5/8 identical (greedy), 6/8 (T=0.7);
  smollm2 4/8 and 1/8. The *content* of other sequences never matters (same shapes, other
  text -> bit-identical logits): there is no cross-talk, only shape-dependent rounding.

Example:
    >>> eng = Engine("model.gguf", EngineSettings(n_seq=4))  # doctest: +SKIP
    >>> tokens = eng.encode([Message(role="user", content="Hi")])  # doctest: +SKIP
    >>> futures = eng.submit(tokens, [GenParams(max_tokens=8)])  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import llama_cpp.llama_cpp as L
import numpy as np

from mistakelab.backends.local.batching import fill_batch
from mistakelab.backends.local.native import Batch, acquire_model, attach_lora, copy_cells, create_context, logit_rows
from mistakelab.backends.local.native import release_model
from mistakelab.backends.local.profiling import StepProfile, StepProfiler
from mistakelab.backends.local.sampling import logprob_entries, sample_batch
from mistakelab.backends.local.scheduler import Scheduler
from mistakelab.backends.local.scoring import ScoreJob, score_rows
from mistakelab.backends.local.state import (
    DECODE,
    Branch,
    EngineSettings,
    EngineStats,
    Group,
    LogitsHook,
    Seq,
    call_hooks,
)
from mistakelab.backends.local.template import ChatTemplate
from mistakelab.core.types import Completion, GenParams, Message

log = logging.getLogger(__name__)


def _resolve(fut: asyncio.Future, completion: Completion) -> None:
    if not fut.done():
        fut.set_result(completion)


class Engine:
    """Owns a llama.cpp context and the thread that decodes all its sequences."""

    def __init__(self, path: str | Path, settings: EngineSettings | None = None) -> None:
        self.settings = s = settings or EngineSettings()
        if s.n_seq < 1 or s.n_ctx_per_seq < 16:
            raise ValueError("n_seq must be >= 1 and n_ctx_per_seq >= 16")
        self.path = Path(path)
        self.model = acquire_model(self.path)
        cap = max(s.n_batch, s.n_seq)
        try:
            self._ctx = create_context(self.model, n_seq=s.n_seq, n_ctx=s.n_seq * s.n_ctx_per_seq,
                                       n_batch=cap, n_threads=s.n_threads, n_ubatch=s.n_ubatch,
                                       kv_unified=s.kv_unified, flash_attn=s.flash_attn,
                                       kv_type=s.kv_type)
            self._lora = attach_lora(self.model, self._ctx, s.lora, s.lora_scale) if s.lora else None
        except Exception:
            if getattr(self, "_ctx", None):
                L.llama_free(self._ctx)
            release_model(self.model)
            raise
        self._batch = Batch(cap)
        self._mem = L.llama_get_memory(self._ctx)
        self.n_vocab = self.model.n_vocab
        m = self.model
        self.template = ChatTemplate(
            m.meta("tokenizer.chat_template"),
            bos_token=self._text(m.bos) if m.bos >= 0 else "",
            eos_token=self._text(int(L.llama_vocab_eos(m.vocab))),
        )
        self.stats = EngineStats()
        self._sched = Scheduler(
            s.n_seq,
            seq_cp=lambda src, dst, p0, p1: copy_cells(self._mem, src, dst, p0, p1, unified=s.kv_unified),
            seq_rm=lambda seq, p0, p1: L.llama_memory_seq_rm(self._mem, seq, p0, p1),
            deliver=self._deliver,
            stats=self.stats,
            prefix_cache=s.prefix_cache,
        )
        self._inbox: list[Group] = []
        self._cond = threading.Condition()
        self._hooks: list[LogitsHook] = []
        self._stopping = False
        self._holds = 0
        self._closed = False
        self._profiler = StepProfiler()
        self._thread = threading.Thread(target=self._run, name="mistakelab-llama", daemon=True)
        self._thread.start()

    # ---- public API (event-loop side) -------------------------------------------------
    def encode(self, messages: Sequence[Message]) -> list[int]:
        """Prompt tokens of ``messages`` (chat template; a final assistant message is a prefill)."""
        if self._closed:  # the vocabulary is freed with the model
            raise RuntimeError("local engine is closed")
        return self.model.tokenize(self.template.render(messages))

    def submit(
        self, tokens: list[int], params: Sequence[GenParams], tags: Sequence[Any] | None = None
    ) -> list[asyncio.Future]:
        """Queue one prompt with one branch per ``params``; call from a running event loop.

        The prompt is evaluated once and shared by all branches. Each future resolves to a
        :class:`Completion` (errors included: they never raise).
        """
        loop = asyncio.get_running_loop()
        tags = list(tags) if tags is not None else [None] * len(params)
        branches = [Branch(p, loop.create_future(), loop, t) for p, t in zip(params, tags)]
        error = self._check_length(len(tokens), len(tokens), "prompt")
        live = [b for b in branches if b.params.max_tokens > 0]
        if error is None and live:
            error = self._enqueue(Group(list(tokens), live))
        for b in branches:
            if error is not None or b.params.max_tokens <= 0:
                b.future.set_result(Completion(
                    text="", prompt_tokens=len(tokens), error=error,
                    finish_reason="error" if error else "length"))
        return [b.future for b in branches]

    def submit_score(self, prompt: list[int], completion: list[int], text: str, *,
                     top_logprobs: int = 0, tag: Any = None) -> asyncio.Future:
        """Queue the scoring of ``completion`` tokens after ``prompt``; call from a running loop.

        The future resolves to a :class:`Completion` with ``text`` as given and one
        :class:`TokenLogprob` per completion token (errors never raise). No logits hook sees
        these rows: hooks are for sampled tokens.

        Example:
            >>> prompt, done = eng.encode(msgs), eng.model.tokenize_text(" 4")  # doctest: +SKIP
            >>> (await eng.submit_score(prompt, done, " 4")).logprobs[0].logprob  # doctest: +SKIP
            -0.12
        """
        loop = asyncio.get_running_loop()
        params = GenParams(max_tokens=0, logprobs=True, top_logprobs=top_logprobs)
        job = ScoreJob([*prompt, *completion], len(prompt), text,
                       Branch(params, loop.create_future(), loop, tag))
        # Positions 0..n-2 are evaluated; n itself must fit like a prompt plus its last token.
        error = self._check_length(len(prompt), len(job.tokens) - 1, "prompt plus completion")
        if error is None and completion:
            error = self._enqueue(job)
        if error is not None or not completion:
            job.branch.future.set_result(job.result(error))
        return job.branch.future

    def _check_length(self, n_prompt: int, n: int, what: str) -> str | None:
        limit = self.settings.n_ctx_per_seq
        if n_prompt == 0:
            return "empty prompt"
        if n >= limit:
            return f"{what} has {n} tokens; the per-sequence context is {limit} (n_ctx_per_seq)"
        return None

    def _enqueue(self, item: Group | ScoreJob) -> str | None:
        with self._cond:
            if self._stopping:
                return "local engine is closed"
            self._inbox.append(item)
            self._cond.notify()
        return None

    def add_logits_hook(self, hook: LogitsHook) -> Callable[[], None]:
        """Call ``hook(StepLogits)`` on the engine thread after each sampling step.

        Hooks must be quick and must not call the engine. Returns a function that removes it.

        Example:
            >>> seen = []
            >>> hook = lambda step: seen.append(step.logits.shape)
            >>> remove = engine.add_logits_hook(hook)  # doctest: +SKIP
        """
        self._hooks = [*self._hooks, hook]  # copy-on-write: the engine thread iterates safely

        def remove() -> None:
            self._hooks = [h for h in self._hooks if h is not hook]

        return remove

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Pause the engine between steps; requests submitted meanwhile start in the same step.

        Example:
            >>> with engine.hold():  # doctest: +SKIP
            ...     tasks = [asyncio.ensure_future(backend.generate(m, p)) for m in prompts]
            ...     await asyncio.sleep(0)  # let every task submit
        """
        with self._cond:
            self._holds += 1
        try:
            yield
        finally:
            with self._cond:
                self._holds -= 1
                self._cond.notify()

    @property
    def n_active(self) -> int:
        """Sequences currently holding a slot (running or waiting for their prompt)."""
        return sum(s is not None for s in self._sched.slots)

    def start_profile(self) -> list[StepProfile]:
        """Time every following step into the returned list (until :meth:`stop_profile`).

        Example:
            >>> steps = engine.start_profile()  # doctest: +SKIP
            >>> sum(p.decode_s for p in steps) / sum(p.total_s for p in steps)  # doctest: +SKIP
            0.93
        """
        return self._profiler.start()

    def stop_profile(self) -> list[StepProfile]:
        """End profiling; the steps so far (waits for the step in progress)."""
        return self._profiler.stop()

    def reset_stats(self) -> None:
        self.stats = self._sched.stats = EngineStats()

    def stats_snapshot(self) -> EngineStats:
        return dataclasses.replace(self.stats)

    def close(self) -> None:
        """Stop the thread (unfinished requests get error completions) and free llama.cpp state."""
        if self._closed:
            return
        self._closed = True
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()
        self._batch.free()
        L.llama_free(self._ctx)
        if self._lora is not None:
            L.llama_adapter_lora_free(self._lora)
        release_model(self.model)

    # ---- engine thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (self._holds or not (
                        self._inbox or self._sched.has_work())):
                    self._cond.wait()
                if self._stopping:
                    break
                self._sched.queue.extend(self._inbox)
                self._inbox.clear()
            try:
                self._profiler.step(self._one_step, self.stats, lambda: self._batch.n)
            except Exception as exc:  # a bug must not kill the engine: fail what is in flight
                log.exception("local engine step failed")
                self._sched.fail_everything(f"engine error: {exc!r}")
        with self._cond:
            self._sched.queue.extend(self._inbox)
            self._inbox.clear()
        self._sched.fail_everything("local engine closed")

    def _one_step(self) -> tuple[int, int]:
        """One step; returns (rows sampled, prompt or scored tokens in the batch)."""
        sched = self._sched
        sched.admit()
        if not self.settings.kv_unified:
            sched.compact()
        batch = self._batch
        plan = fill_batch(batch, sched, self.stats)
        in_batch = plan.in_batch
        rows: list[tuple[Seq, np.ndarray]] = []
        if batch.n:
            t0 = time.perf_counter()
            rc = batch.decode(self._ctx)
            if rc == 1 and sched.drop_kept():  # 1: no KV room; kept prefixes may fragment it
                rc = batch.decode(self._ctx)
            self.stats.decode_s += time.perf_counter() - t0
            self.stats.decode_steps += 1
            self.stats.max_seqs_per_step = max(self.stats.max_seqs_per_step, len(in_batch))
            self.stats.shared_steps += len(in_batch) > 1
            if rc != 0:
                for seq in in_batch:
                    sched.finish(seq, "error", f"llama_decode failed with code {rc}")
                return 0, batch.n
            for seq, i in plan.outputs:
                seq.pos += 1
                rows.append((seq, self._logits(i)))
            for seq, i in plan.finished_prompt:
                rows.extend(sched.prompt_done(seq, self._logits(i)))
            if plan.scored:
                self._score(plan.scored)
        for seq in sched.ready:
            rows.append((seq, seq.first_row))
            seq.state, seq.first_row = DECODE, None
        sched.ready.clear()
        if rows:
            self._sample(rows)
        return len(rows), batch.n - len(plan.outputs)

    def _logits(self, i: int) -> np.ndarray:
        return logit_rows(self._ctx, i, 1, self.n_vocab)[0]

    def _score(self, scored: list[tuple[ScoreJob, int, int, int]]) -> None:
        t0 = time.perf_counter()
        for job, idx, p0, p1 in scored:
            if idx >= 0:
                targets = np.asarray(job.tokens[p0 + 1:p1 + 1])  # row p predicts token p + 1
                rows = logit_rows(self._ctx, idx, p1 - p0, self.n_vocab)
                job.logprobs.extend(score_rows(rows, targets,
                                               job.branch.params.top_logprobs, self._text))
            if job.done:
                self.stats.tokens_scored += job.n_completion
                self._sched.finish(job, "stop")
        self.stats.sample_s += time.perf_counter() - t0

    def _sample(self, rows: list[tuple[Seq, np.ndarray]]) -> None:
        t0 = time.perf_counter()
        tokens = sample_batch([(row, seq.branch.params, seq.branch.rng, seq.n_gen < seq.branch.params.min_tokens)
                               for seq, row in rows], self.model.eog_tokens)
        entries = logprob_entries([row for _, row in rows], tokens,
                                  [seq.branch.params.top_logprobs if seq.logprobs is not None else None
                                   for seq, _ in rows], self._text)
        if self._hooks:
            call_hooks(self._hooks, rows, tokens)
        self.stats.sample_s += time.perf_counter() - t0
        for (seq, _), tok, entry in zip(rows, tokens, entries):
            if entry is not None:
                seq.logprobs.append(entry)
            unsure = entry is not None and seq.watch is not None and seq.watch.push(entry)
            self._advance(seq, int(tok), unsure)

    def _text(self, token: int) -> str:
        return self.model.piece(token, special=True).decode("utf-8", "replace")

    def _advance(self, seq: Seq, tok: int, unsure: bool = False) -> None:
        if seq.branch.future.cancelled():
            self._sched.finish(seq, None)
            return
        seq.generated.append(tok)
        self.stats.tokens_generated += 1
        if self.model.is_eog(tok) or seq.out.feed(self.model.piece(tok)):
            self._sched.finish(seq, "stop")
        elif unsure:  # GenParams.confidence_stop fired on this token
            self._sched.finish(seq, "low_confidence")
        elif seq.n_gen >= seq.branch.params.max_tokens or seq.pos >= self.settings.n_ctx_per_seq:
            self._sched.finish(seq, "length")
        else:
            seq.next_token = tok

    def _deliver(self, br: Branch, completion: Completion) -> None:
        self.stats.requests_done += 1
        self.stats.errors += completion.error is not None
        try:
            br.loop.call_soon_threadsafe(_resolve, br.future, completion)
        except RuntimeError:  # the caller's event loop is gone
            pass

