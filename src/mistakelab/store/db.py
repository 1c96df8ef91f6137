"""SQLite run store: runs, their problems, every model call, traces, results and the
completion cache.

Every completed model call is queued for commit as soon as it returns; a writer thread
commits what is queued in small batches (typically within milliseconds), so the event loop
never waits on the disk and a process killed at any moment loses at most the calls in flight
(and the last few milliseconds of finished calls). A finished unit (one strategy on one
problem) is written with its trace and result in one statement, after its calls.

Example:
    >>> import tempfile, pathlib
    >>> store = RunStore(pathlib.Path(tempfile.mkdtemp()) / "runs.db")
    >>> store.create_run("demo", "demo", {"seed": 0})
    True
    >>> [r.id for r in store.list_runs()]
    ['demo']
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from mistakelab.core.trace import Trace
from mistakelab.core.types import Completion, GenParams, Message, Problem, Result, ServerStats
from mistakelab.store.sqlite import StoreError, Writer, commit_retrying, open_store, why
from mistakelab.store.texts import pack_json, unpack


# Bumped when what a completion's per-token statistics mean changes, so that cached
# completions are not served with the old meaning (2: kl_from_uniform is KL(U || p), was
# KL(p || U)). A scoring call's key holds it; a generation's cached completion is stamped
# with it (``Completion.logprob_stats``) and serves a request for statistics only when current.
LOGPROB_STATS_VERSION = 2


def cache_key(model_id: str, messages: Sequence[Message], params: GenParams, scored: str | None = None) -> str:
    """Key of the completion cache: (model, messages, parameters incl. seed), and for a
    scoring call the text scored (generation keys are unchanged by that field).

    A generation's key ignores whether token statistics were asked for (``logprobs``,
    ``top_logprobs``): they describe the sample, they do not change it, so a selector that
    draws self-consistency's samples with statistics shares their key (a cached sample
    without enough statistics is not served to a request that wants them: see
    :func:`serves`).

    Example:
        >>> from mistakelab.core.types import GenParams
        >>> p = GenParams(temperature=0.7, seed=3)
        >>> cache_key("m", [], p) == cache_key("m", [], p.with_(logprobs=True, top_logprobs=5))
        True
        >>> from mistakelab.core.types import ConfidenceStop
        >>> stop = ConfidenceStop(window=4, threshold=2.0, top_k=5)
        >>> stopped = p.with_(logprobs=True, top_logprobs=5, confidence_stop=stop)
        >>> cache_key("m", [], stopped) == cache_key("m", [], p.with_(logprobs=True, top_logprobs=5))
        False
    """
    keyed = _key_params(params)
    if scored is None and params.logprobs:  # (a confidence stop keeps its own top_k: it changes the text)
        keyed.update(logprobs=False, top_logprobs=0)
    body: dict[str, object] = {
        "model": model_id,
        "messages": [m.model_dump() for m in messages],
        "params": keyed,
    }
    if scored is not None:
        body["scored"] = scored
    if scored is not None:
        body["logprob_stats"] = LOGPROB_STATS_VERSION
    payload = json.dumps(
        body,
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _key_params(params: GenParams) -> dict[str, Any]:
    """The parameters as keyed; a field added later is left out at its default, so the keys of
    requests that do not use it are what they were before it existed."""
    dump = params.model_dump(mode="json")
    if not dump.get("stop_after_boxed"):
        dump.pop("stop_after_boxed", None)
    if dump.get("confidence_stop") is None:
        dump.pop("confidence_stop", None)
    return dump


def serves(cached: Completion, params: GenParams) -> bool:
    """Whether a cached completion answers a request with ``params``: one that asks for token
    statistics needs a completion that has them, with as many alternatives per token.

    Example:
        >>> from mistakelab.core.types import Completion, GenParams
        >>> serves(Completion(text="4"), GenParams(logprobs=True))
        False
    """
    if not params.logprobs:
        return True
    lps = cached.logprobs
    if lps is None or (cached.completion_tokens and not lps) or cached.logprob_stats != LOGPROB_STATS_VERSION:
        return False
    return all(len(t.top) >= params.top_logprobs for t in lps)


@dataclass(frozen=True)
class RunInfo:
    id: str
    name: str
    created_at: float
    updated_at: float
    status: str
    config: dict[str, Any]
    git_rev: str | None


@dataclass(frozen=True)
class UnitRow:
    unit_key: str
    model: str
    task: str
    strategy: str
    problem_id: str
    status: str
    result: Result | None


class RunStore:
    """All runs under one SQLite file. WAL mode with a busy timeout and retried writes, so
    several processes may use one store at once (each commits its own rows; a second process
    on the same run repeats the model calls of units it did not see finished).

    Raises :class:`StoreError` for a path that cannot be opened or a file that is not a
    mistakelab store."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.conn = open_store(self.path)
        # Completions written by this process, so cache look-ups see them before commit.
        self._recent: dict[str, str] = {}
        self._known_keys: set[str] | None = None
        self._writer = Writer(self.path)

    def _enqueue(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """Queue statements that must commit together (a kill leaves all or none of them)."""
        self._writer.put(list(statements))

    def flush(self) -> None:
        """Wait until every queued write is committed."""
        self._writer.flush()

    # -- long texts, stored once ---------------------------------------------------------
    def _packed(self, doc: str) -> tuple[str, list[tuple[str, tuple[Any, ...]]]]:
        """``doc`` with its long strings as chunk references, and the chunk inserts that must
        commit with it."""
        packed, chunks = pack_json(doc)
        return packed, [("INSERT OR IGNORE INTO texts VALUES (?,?)", (h, body)) for h, body in chunks.items()]

    def _unpacked(self, doc: str) -> str:
        return unpack(doc, self._chunk)

    def _chunk(self, digest: str) -> str:
        for (body,) in self._rows("SELECT body FROM texts WHERE hash=?", (digest,)):
            return body
        raise StoreError(f"run store {self.path}: text chunk {digest[:12]} is missing (damaged store)")

    def close(self) -> None:
        self._writer.close()
        self.conn.close()

    def _write(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement, committed now (retried while another process holds the lock);
        returns the rows it changed."""
        with self._lock:
            try:
                return commit_retrying(self.conn, [(sql, tuple(args))])
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"run store {self.path}: write failed: {why(exc)}") from None

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        with self._lock:
            rows = self.conn.execute(sql, args).fetchall()
        return iter(rows)

    # -- runs ---------------------------------------------------------------------------
    def create_run(
        self, run_id: str, name: str, config: dict[str, Any], git_rev: str | None = None
    ) -> bool:
        """Create the run if new; return False (and change nothing) when it exists."""
        from mistakelab import __version__

        now = time.time()
        return self._write("INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?,?,?,?)",
                           (run_id, name, now, now, "running", json.dumps(config, sort_keys=True),
                            git_rev, __version__)) == 1

    def set_status(self, run_id: str, status: str) -> None:
        self.flush()
        self._write("UPDATE runs SET status=?, updated_at=? WHERE id=?", (status, time.time(), run_id))

    def get_run(self, run_id: str) -> RunInfo | None:
        for row in self._rows("SELECT * FROM runs WHERE id=?", (run_id,)):
            return RunInfo(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6])
        return None

    def list_runs(self) -> list[RunInfo]:
        return [
            RunInfo(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])
            for r in self._rows("SELECT * FROM runs ORDER BY created_at")
        ]

    # -- problems -----------------------------------------------------------------------
    def save_problems(self, run_id: str, task: str, problems: Sequence[Problem]) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for i, p in enumerate(problems):
            doc, chunks = self._packed(p.model_dump_json())
            statements += [*chunks, ("INSERT OR IGNORE INTO problems VALUES (?,?,?,?,?)", (run_id, task, i, p.id, doc))]
        with self._lock:
            try:
                commit_retrying(self.conn, statements)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"run store {self.path}: write failed: {why(exc)}") from None

    def load_problems(self, run_id: str, task: str) -> list[Problem]:
        return [
            Problem.model_validate_json(self._unpacked(r[0]))
            for r in self._rows(
                "SELECT problem_json FROM problems WHERE run_id=? AND task=? ORDER BY position",
                (run_id, task),
            )
        ]

    # -- units --------------------------------------------------------------------------
    def finished_units(self, run_id: str) -> set[str]:
        self.flush()
        return {
            r[0]
            for r in self._rows("SELECT unit_key FROM units WHERE run_id=? AND status='done'", (run_id,))
        }

    def save_unit(self, run_id: str, unit_key: str, result: Result, trace: Trace) -> None:
        """Store a finished or failed unit (``result.status``); idempotent: re-saving
        replaces, never duplicates. Failed units are retried when the run resumes."""
        trace_doc, chunks = self._packed(trace.model_dump_json())
        self._enqueue(*chunks, (
            "INSERT OR REPLACE INTO units VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, unit_key, result.model, result.task, result.strategy, result.problem_id,
             result.status, result.model_dump_json(), trace_doc, time.time()),
        ))

    def units(self, run_id: str) -> list[UnitRow]:
        self.flush()
        return [
            UnitRow(r[0], r[1], r[2], r[3], r[4], r[5],
                    Result.model_validate_json(r[6]) if r[6] else None)
            for r in self._rows(
                "SELECT unit_key, model, task, strategy, problem_id, status, result_json "
                "FROM units WHERE run_id=? ORDER BY rowid", (run_id,),
            )
        ]

    def units_with_traces(self, run_id: str) -> Iterator[tuple[UnitRow, Trace | None]]:
        """Every unit of the run with its trace, in one query (reports read them all)."""
        self.flush()
        for r in self._rows(
            "SELECT unit_key, model, task, strategy, problem_id, status, result_json, trace_json "
            "FROM units WHERE run_id=? ORDER BY rowid", (run_id,),
        ):
            yield (UnitRow(r[0], r[1], r[2], r[3], r[4], r[5], Result.model_validate_json(r[6]) if r[6] else None),
                   Trace.model_validate_json(self._unpacked(r[7])) if r[7] else None)

    def trace(self, run_id: str, unit_key: str) -> Trace | None:
        self.flush()
        for r in self._rows(
            "SELECT trace_json FROM units WHERE run_id=? AND unit_key=?", (run_id, unit_key)
        ):
            return Trace.model_validate_json(self._unpacked(r[0])) if r[0] else None
        return None

    # -- calls and cache ----------------------------------------------------------------
    def record_call(
        self,
        run_id: str,
        unit_key: str,
        key: str,
        model: str,
        purpose: str,
        messages: Sequence[Message],
        params: GenParams,
        completion: Completion,
    ) -> None:
        """Log one model call and, if it succeeded and was not a cache hit, cache it."""
        request = json.dumps(
            {"messages": [m.model_dump() for m in messages], "params": params.model_dump(mode="json")},
            ensure_ascii=False,
        )
        if completion.logprobs is not None and completion.logprob_stats is None:
            completion = completion.model_copy(update={"logprob_stats": LOGPROB_STATS_VERSION})
        comp = completion.model_dump_json()
        now = time.time()
        request_doc, request_chunks = self._packed(request)
        comp_doc, comp_chunks = self._packed(comp)
        log = ("INSERT INTO calls (run_id, unit_key, cache_key, model, purpose, cached,"
               " request_json, completion_json, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
               (run_id, unit_key, key, model, purpose, int(completion.cached), request_doc, comp_doc, now))
        if completion.ok and not completion.cached:
            self._recent[key] = comp
            # cache entry and call log in one transaction: a kill between them would leave a
            # cached completion whose original call is missing from the log
            # a sample drawn again for its statistics replaces its plainer twin under one key
            verb = "REPLACE" if completion.logprobs is not None else "IGNORE"
            self._enqueue(*request_chunks, *comp_chunks, (f"INSERT OR {verb} INTO completion_cache VALUES (?,?,?,?,?)",
                                                          (key, model, request_doc, comp_doc, now)), log)
        else:
            self._enqueue(*request_chunks, *comp_chunks, log)

    def cached_completion(self, key: str) -> Completion | None:
        if key in self._recent:
            return Completion.model_validate_json(self._recent[key]).model_copy(update={"cached": True})
        if self._known_keys is None:
            # One scan of the keys up front turns every miss into a set look-up.
            self._known_keys = {r[0] for r in self._rows("SELECT key FROM completion_cache")}
        if key not in self._known_keys:
            return None
        for r in self._rows("SELECT completion_json FROM completion_cache WHERE key=?", (key,)):
            return Completion.model_validate_json(self._unpacked(r[0])).model_copy(update={"cached": True})
        return None

    def unit_completions(self, run_id: str) -> dict[str, dict[str, str]]:
        """Unit key -> (cache key -> completion JSON) of the successful calls every unit of the
        run made so far (what a worker elsewhere needs to resume an unfinished unit from the
        cache); one query."""
        self.flush()
        out: dict[str, dict[str, str]] = {}
        for unit, key, doc in self._rows(
                "SELECT c.unit_key, cc.key, cc.completion_json FROM calls c "
                "JOIN completion_cache cc ON cc.key = c.cache_key WHERE c.run_id=?", (run_id,)):
            out.setdefault(unit, {})[key] = self._unpacked(doc)
        return out

    def call_counts(self, run_id: str) -> tuple[int, int]:
        """(calls sent to a model, calls served from the cache) for a run."""
        self.flush()
        made = cached = 0
        for c, n in self._rows(
            "SELECT cached, COUNT(*) FROM calls WHERE run_id=? GROUP BY cached", (run_id,)
        ):
            if c:
                cached = n
            else:
                made = n
        return made, cached

    # -- servers of a pool ----------------------------------------------------------------
    def add_server_stats(self, run_id: str, model: str, stats: Sequence[ServerStats]) -> None:
        """Add per-server figures (deltas) of ``model`` to the run's totals."""
        if not stats:
            return
        self._enqueue(*[(
            "INSERT INTO server_calls VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (run_id, model, server) DO UPDATE SET "
            "calls=calls+excluded.calls, failures=failures+excluded.failures, "
            "prompt_tokens=prompt_tokens+excluded.prompt_tokens, "
            "completion_tokens=completion_tokens+excluded.completion_tokens, "
            "latency_s=latency_s+excluded.latency_s, downs=downs+excluded.downs",
            (run_id, model, s.server, s.calls, s.failures, s.prompt_tokens, s.completion_tokens, s.latency_s,
             s.downs)) for s in stats])

    def server_stats(self, run_id: str) -> list[tuple[str, ServerStats]]:
        """(model, figures) of every server that served the run, by model and server."""
        self.flush()
        return [(r[0], ServerStats(server=r[1], calls=r[2], failures=r[3], prompt_tokens=r[4],
                                   completion_tokens=r[5], latency_s=r[6], downs=r[7]))
                for r in self._rows("SELECT model, server, calls, failures, prompt_tokens, completion_tokens, "
                                    "latency_s, downs FROM server_calls WHERE run_id=? ORDER BY model, server",
                                    (run_id,))]
