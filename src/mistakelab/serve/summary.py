"""What a served run holds: requests per (model, strategy), their cost. No accuracy: served
requests have no gold answer.

Example:
    >>> from mistakelab.core.types import Result, Usage
    >>> rs = [Result(problem_id="p", strategy="cot", model="m", task="served", final_answer="4", correct=False,
    ...              calls=1, prompt_tokens=10, completion_tokens=5, usage={"solver": Usage(calls=1, cached=1)}),
    ...       Result(status="failed", problem_id="q", strategy="cot", model="m", task="served", final_answer=None,
    ...              correct=False, error="timeout")]
    >>> row = summarize_served(rs)[0]
    >>> row.requests, row.failed, row.mean_tokens, row.cached_calls, row.answered
    (2, 1, 15.0, 1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mistakelab.core.types import Result


@dataclass
class ServedRow:
    model: str
    strategy: str
    requests: int = 0  # units: one per choice of each request
    failed: int = 0
    answered: int = 0  # finished with an extractable final answer
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    tokens_by_role: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.requests - self.failed

    @property
    def mean_tokens(self) -> float:
        return (self.prompt_tokens + self.completion_tokens) / self.done if self.done else 0.0

    @property
    def mean_seconds(self) -> float:
        return self.seconds / self.done if self.done else 0.0


def summarize_served(results: list[Result]) -> list[ServedRow]:
    """One row per (model, strategy), in first-seen order; cost means are over finished units."""
    rows: dict[tuple[str, str], ServedRow] = {}
    for r in results:
        row = rows.setdefault((r.model, r.strategy), ServedRow(r.model, r.strategy))
        row.requests += 1
        if r.status == "failed":
            row.failed += 1
            continue
        row.answered += r.final_answer is not None
        row.calls += r.calls
        row.cached_calls += sum(u.cached for u in r.usage.values())
        row.prompt_tokens += r.prompt_tokens
        row.completion_tokens += r.completion_tokens
        row.seconds += r.seconds
        for role, u in r.usage.items():
            row.tokens_by_role[role] = row.tokens_by_role.get(role, 0) + u.tokens
    return list(rows.values())
