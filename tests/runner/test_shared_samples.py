"""A run holding self-consistency and selectors that read its samples' token statistics draws
each sample once, with the richest statistics any of them reads, whichever unit asks first."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.backends.base import CAPABILITIES
from mistakelab.core.types import Completion, TokenLogprob
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore


class Sampler(ScriptedBackend):
    """Sampled completions that carry the statistics asked for; counts every draw."""

    def __init__(self) -> None:
        super().__init__(lambda m, p: "", capabilities=CAPABILITIES)
        self.draws: list[tuple[int | None, bool, int]] = []
        self.stops: list[object] = []  # each draw's confidence stop (None: none asked)

    async def sample(self, messages, params, seeds):  # type: ignore[no-untyped-def, override]
        await asyncio.sleep(0)  # let the other units see the request in flight
        out = []
        for s in seeds:
            self.draws.append((s, params.logprobs, params.top_logprobs))
            self.stops.append(params.confidence_stop)
            answer = (s or 0) % 3
            lps = None
            if params.logprobs:
                top = [(f"t{j}", -0.1 * (j + 1)) for j in range(params.top_logprobs)]
                lps = [TokenLogprob(token=" so", logprob=-0.1, top=top, kl_from_uniform=1.0 + answer),
                       TokenLogprob(token=f" \\boxed{{{answer}}}", logprob=-0.2, top=top, kl_from_uniform=2.0)]
            out.append(Completion(text=f"so \\boxed{{{answer}}}", completion_tokens=2, logprobs=lps))
        return out


def _run(tmp_path: Path, strategies: list[dict], name: str = "shared") -> tuple[Sampler, RunStore, str]:
    cfg = parse_config({"name": name, "store": str(tmp_path / "s.db"), "n_problems": 3, "concurrency": 8,
                        "models": [{"backend": "scripted", "model": "fake",
                                    "options": {"outputs": [], "capabilities": sorted(CAPABILITIES)}}],
                        "tasks": [{"name": "toy_add"}], "strategies": strategies})
    fake = Sampler()
    summary = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert summary.units_failed == 0
    return fake, RunStore(tmp_path / "s.db"), summary.run_id


def test_self_consistency_first_and_selectors_after_share_one_draw_per_sample(tmp_path: Path) -> None:
    fake, store, run_id = _run(tmp_path, [
        {"name": "self_consistency", "k": 3},
        {"name": "best_of_n", "n": 3, "select": "borda"},
        {"name": "deepconf", "mode": "offline", "n": 3},
    ])
    assert len(fake.draws) == 3 * 3  # 3 problems x 3 samples, not once per strategy
    assert {(lp, top) for _, lp, top in fake.draws} == {(True, 10)}  # deepconf's top 10 for all
    samples: dict[tuple[str, str], list[str]] = {}
    for row, trace in store.units_with_traces(run_id):
        samples[(row.problem_id, row.strategy.split("(")[0])] = [
            (c.params.seed, c.completion.text) for c in trace.calls]
    for (pid, strat), texts in samples.items():
        assert texts[:3] == samples[(pid, "self_consistency")][:3]  # the very same samples
    store.close()


def test_a_run_without_such_selectors_draws_plain_samples(tmp_path: Path) -> None:
    fake, store, _ = _run(tmp_path, [{"name": "self_consistency", "k": 2},
                                     {"name": "best_of_n", "n": 2, "scorer": "exact", "shared": True}])
    assert {(lp, top) for _, lp, top in fake.draws} == {(False, 0)}
    store.close()


def test_deepconf_online_asks_for_its_confidence_stop_through_the_runner_and_the_cache_keeps_it(tmp_path: Path) -> None:
    strategies = [{"name": "self_consistency", "k": 4},
                  {"name": "deepconf", "n": 8, "warmup": 4, "batch": 4, "window": 2}]
    fake, store, run_id = _run(tmp_path, strategies)
    later = [stop for stop in fake.stops if stop is not None]
    # the warm-up traces are self-consistency's 4 samples; votes split 3 ways: 4 more per problem
    assert len(fake.draws) == 3 * 4 + len(later) and len(later) == 3 * 4
    assert {(stop.window, stop.top_k) for stop in later} == {(2, 10)}  # type: ignore[attr-defined]
    store.close()
    again, store, _ = _run(tmp_path, strategies, name="again")  # another run on the same store
    assert again.draws == []  # every call, stopped traces included, from the completion cache
    store.close()
