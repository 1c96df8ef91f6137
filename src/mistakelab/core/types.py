"""Core data types shared by tasks, strategies, backends and the run store.

All types are pydantic models so they round-trip through JSON (the run store keeps them as
JSON text) and validate on load.

Example:
    >>> p = Problem(id="gsm-1", question="What is 2+3?", answer="5")
    >>> Problem.model_validate_json(p.model_dump_json()) == p
    True
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat message. A final ``assistant`` message is a prefill the model continues."""

    model_config = ConfigDict(frozen=True)
    role: Role
    content: str


class ReferenceStep(BaseModel):
    """One step of a gold solution (for tasks that know their solution path)."""

    text: str
    quantity: str | None = None  # what the step defines, when the task knows it
    expression: str | None = None
    value: Any = None
    depends_on: list[str] = Field(default_factory=list)


class Problem(BaseModel):
    """A problem with a checkable gold answer.

    Example:
        >>> Problem(id="q1", question="1+1?", answer="2").answer
        '2'
    """

    id: str
    question: str
    answer: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    steps: list[ReferenceStep] | None = None


class ConfidenceStop(BaseModel):
    """End the text at the first token that completes a window of ``window`` tokens whose
    mean token confidence (``-mean`` logprob of the ``top_k`` most likely candidates) is
    under ``threshold``: the backend stops generating there (a streamed server request is
    cancelled), and the completion's finish reason is ``low_confidence``
    (:mod:`mistakelab.core.stopping`).

    Example:
        >>> stop = ConfidenceStop(window=32, threshold=12.5, top_k=10)
        >>> GenParams(logprobs=True, top_logprobs=10, confidence_stop=stop).confidence_stop.window
        32
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    window: int = Field(ge=1)
    threshold: float
    top_k: int = Field(ge=1)


class GenParams(BaseModel):
    """Sampling parameters of one request. ``seed`` makes a request reproducible."""

    model_config = ConfigDict(frozen=True)
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = disabled
    max_tokens: int = 512
    min_tokens: int = 0  # end-of-sequence is suppressed before this many tokens (benchmarks)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False  # ask for per-token logprob data where the backend has it
    top_logprobs: int = 0
    # end the text just after the first complete, non-empty \boxed{...}: the answer is given
    stop_after_boxed: bool = False
    #: end the text early on low local confidence (DeepConf's online stop): see ConfidenceStop
    confidence_stop: ConfidenceStop | None = None

    @model_validator(mode="after")
    def _confidence_stop(self) -> "GenParams":
        rule = self.confidence_stop
        if rule is not None and (not self.logprobs or self.top_logprobs < rule.top_k):
            raise ValueError(f"confidence_stop reads the top {rule.top_k} candidates of every token: it needs "
                             f"logprobs=True and top_logprobs >= {rule.top_k} (top_logprobs is {self.top_logprobs})")
        return self

    def with_(self, **changes: Any) -> "GenParams":
        """Copy with some fields changed (validated)."""
        data = self.model_dump()
        data.update(changes)
        if "stop" in changes and changes["stop"] is not None:
            data["stop"] = tuple(changes["stop"])
        return GenParams.model_validate(data)


class TokenLogprob(BaseModel):
    """Per-token data: the sampled token, its logprob, and optional top alternatives."""

    token: str
    logprob: float
    top: list[tuple[str, float]] = Field(default_factory=list)
    # Exact statistics of the full next-token distribution, when the backend has it.
    entropy: float | None = None
    kl_from_uniform: float | None = None  # KL(U || p) over the vocabulary (self-certainty term)


FinishReason = Literal["stop", "length", "error", "low_confidence"]


class Completion(BaseModel):
    """What a backend returns for one request.

    A failed request is a Completion too (``finish_reason == "error"``, empty text, ``error``
    set), so a backend never raises for it; the strategy context turns it into a failed unit
    (stored as failed and retried on resume), never into a wrong answer.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: FinishReason = "stop"
    latency_s: float = 0.0
    logprobs: list[TokenLogprob] | None = None
    error: str | None = None
    cached: bool = False
    # which meaning its per-token statistics have (the run store stamps it when caching)
    logprob_stats: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_error(cls, exc: BaseException | str) -> "Completion":
        """The recorded failure of a call that raised ``exc`` (or failed with this message)."""
        msg = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        return cls(text="", finish_reason="error", error=msg)


class Verdict(BaseModel):
    """Structured result of checking one answer against the gold answer.

    ``method`` says how the answer was found in the text (``boxed``, ``answer_is``,
    ``hash``, ``last_number`` (a fallback), ``none``...).
    """

    extracted: str | None
    method: str
    correct: bool
    reason: str = ""


class Usage(BaseModel):
    """Calls and tokens of one model role within a unit (cache hits included)."""

    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


UnitStatus = Literal["done", "failed"]


class Result(BaseModel):
    """The outcome of one strategy on one problem.

    A ``failed`` unit (a model call failed after its retries, or the strategy raised) has
    ``error`` set; it is not an answer, is never counted in accuracy, and is retried when
    the run resumes.
    """

    status: UnitStatus = "done"
    problem_id: str
    strategy: str
    model: str
    task: str
    final_answer: str | None
    correct: bool
    first_correct: bool | None = None  # correctness of the first answer in the trace
    pass_at_k: bool | None = None  # any sampled answer correct (where the strategy samples)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    seconds: float = 0.0
    used_gold: bool = False
    error: str | None = None
    #: calls and tokens per model role ("solver", "critic", ...)
    usage: dict[str, Usage] = Field(default_factory=dict)
    #: correctness of each ATTEMPT answer in order (per-round metrics: Succ@T, cumulative accuracy)
    attempts: list[bool] = Field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ServerStats(BaseModel):
    """What one server of a routed pool did: requests sent to it (``calls``), the ones that
    failed there (``failures``, retried on another server), tokens and seconds of the ones it
    answered, and how often it was marked down. Counters add up (deltas are summed)."""

    server: str
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    downs: int = 0

    def plus(self, other: "ServerStats") -> "ServerStats":
        """The sum of two counts of the same server.

        Example:
            >>> ServerStats(server="a", calls=2).plus(ServerStats(server="a", calls=1, failures=1)).calls
            3
        """
        return ServerStats(server=self.server, **{
            k: getattr(self, k) + getattr(other, k) for k in type(self).model_fields if k != "server"})

    @property
    def answered(self) -> int:
        return self.calls - self.failures
