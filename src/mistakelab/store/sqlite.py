"""SQLite plumbing of the run store: opening a file safely, committing with retries while
another process holds the lock, and the background writer thread.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.db"
    >>> conn = open_store(path)
    >>> w = Writer(path)
    >>> w.put([("INSERT INTO texts VALUES (?,?)", ("h1", "a long text"))])
    >>> w.flush(); conn.execute("SELECT body FROM texts").fetchall()
    [('a long text',)]
    >>> w.close()
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from mistakelab.store.migrations import NotAStoreError, apply_migrations, check_schema

Statements = list[tuple[str, tuple[Any, ...]]]

# A writer that finds the database locked by another process (after the busy timeout)
# retries its batch this many times, waiting a little longer each time.
WRITE_RETRIES = 5
BUSY_TIMEOUT_MS = 10_000


class StoreError(RuntimeError):
    """A run store that cannot be opened or written: the message names the file and why."""


def connect(path: Path, check: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout; ``check``: refuse a foreign file
    before anything writes to it."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if check:
            check_schema(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def open_store(path: Path) -> sqlite3.Connection:
    """Open (creating folder and file if needed) and migrate the store at ``path``; every
    failure is a :class:`StoreError` naming the file and why."""
    where = f"run store {path}"
    if path.is_dir():
        raise StoreError(f"{where}: is a folder, not a file")
    blocking = next((d for d in [*reversed(path.parents)] if d.exists() and not d.is_dir()), None)
    if blocking is not None:
        raise StoreError(f"{where}: cannot create its folder ({blocking} is a file)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{where}: cannot create its folder ({exc.strerror or exc})") from None
    # Opening takes locks too (the switch to WAL, the migrations of a new file): when another
    # process holds the file past the busy timeout (a slow machine, both creating the store
    # at once), try again as writes do, rather than fail the run.
    for attempt in range(WRITE_RETRIES):
        try:
            return _open_migrated(path)
        except NotAStoreError as exc:
            raise StoreError(f"{where}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            if attempt == WRITE_RETRIES - 1 or not _locked(exc):
                raise StoreError(f"{where}: {why(exc)}") from None
            time.sleep(0.05 * 2 ** attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _open_migrated(path: Path) -> sqlite3.Connection:
    conn = connect(path, check=True)
    try:
        apply_migrations(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _locked(exc: BaseException) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def why(exc: BaseException) -> str:
    """What went wrong, in words a user can act on."""
    msg = str(exc)
    if "file is not a database" in msg:
        return "not an SQLite database (so not a mistakelab run store)"
    if "unable to open database file" in msg:
        return "cannot open the file (missing folder or no permission)"
    if "readonly database" in msg:
        return "the file is read-only"
    if "database is locked" in msg:
        return f"the database stayed locked by another process (waited {BUSY_TIMEOUT_MS / 1000:g} s, {WRITE_RETRIES} tries)"
    return f"{type(exc).__name__}: {msg}"


def commit_retrying(conn: sqlite3.Connection, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> int:
    """Run ``statements`` in one write transaction; when another process holds the
    database past the busy timeout, roll back and try again (a few times). Returns the rows
    changed."""
    for attempt in range(WRITE_RETRIES):
        try:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now (waits busy_timeout)
            changed = 0
            for sql, args in statements:
                changed += conn.execute(sql, args).rowcount
            conn.execute("COMMIT")
            return changed
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if not _locked(exc):
                raise
            if attempt == WRITE_RETRIES - 1:
                raise
            time.sleep(0.05 * 2 ** attempt)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    raise AssertionError("unreachable")  # pragma: no cover


class Writer:
    """A thread that commits queued statement groups in small batches on its own
    connection, so callers never wait on the disk. A group commits all or nothing; an
    error is raised by the next :meth:`put` or :meth:`flush`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.Queue[Statements | None] = queue.Queue()  # None: stop
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="mistakelab-store", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        conn = connect(self.path)
        while True:
            batch = [self._queue.get()]
            while len(batch) < 256:  # drain what is already queued into one transaction
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(b is None for b in batch)
            try:
                commit_retrying(conn, [st for b in batch for st in b or ()])
            except BaseException as exc:  # noqa: BLE001 - surfaced by flush()
                self._error = exc
            for _ in batch:
                self._queue.task_done()
            if stop:
                conn.close()
                return

    def raise_error(self) -> None:
        if self._error is not None:
            raise StoreError(f"run store {self.path}: write failed: {why(self._error)}") from self._error

    def put(self, statements: Statements) -> None:
        """Queue statements that must commit together (a kill leaves all or none of them)."""
        self.raise_error()
        self._queue.put(statements)

    def flush(self) -> None:
        """Wait until every queued write is committed."""
        self._queue.join()
        self.raise_error()

    def close(self) -> None:
        if self._thread.is_alive():
            self.flush()
            self._queue.put(None)
            self._thread.join()
