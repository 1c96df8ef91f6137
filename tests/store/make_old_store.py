"""Writes tests/store/data/store_001.db: a run store in the format before migration
002_texts (every text inline). Run once with a mistakelab from before that migration:

    PYTHONPATH=<old checkout>/src python tests/store/make_old_store.py tests/store/data/store_001.db

The store holds one run of two problems (one with a 3000-character question) x cot, done with
a scripted model; test_store.py checks that the current version reads and resumes it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.runner import parse_config, run_experiment

LONG_QUESTION = "How many apples? " + " ".join(f"Basket {i} holds {i % 7} apples." for i in range(120))


def main(out: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    data = tmp / "old.jsonl"
    data.write_text(json.dumps({"id": "long", "question": LONG_QUESTION, "answer": "#### 357"}) + "\n"
                    + json.dumps({"id": "short", "question": "2 + 2?", "answer": "#### 4"}) + "\n")
    cfg = parse_config({
        "name": "old", "store": out, "n_problems": 2,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "gsm8k_file", "options": {"path": str(data)}}],
        "strategies": [{"name": "cot"}],
    })
    fake = ScriptedBackend(lambda messages, params: "So \\boxed{357}." if "apples" in messages[-1].content
                           else "So \\boxed{5}.")
    summary = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    conn = sqlite3.connect(out)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    conn.close()
    print(summary.run_id, summary.units_done)


if __name__ == "__main__":
    main(sys.argv[1])
