"""A scripted fake model for tests: a list or a callable of outputs, every call recorded.

Example:
    >>> import asyncio
    >>> from mistakelab.core import GenParams, Message
    >>> fake = ScriptedBackend(lambda messages, params: "echo: " + messages[-1].content)
    >>> asyncio.run(fake.generate([Message(role="user", content="hi")], GenParams())).text
    'echo: hi'
    >>> len(fake.calls)
    1
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, Union

from mistakelab.backends.base import (
    CAPABILITIES,
    FULL_DISTRIBUTION,
    SCORE,
    Backend,
    ScriptExhausted,
    BackendFactory,
    ModelSpec,
    backends,
)
from mistakelab.core.types import Completion, GenParams, Message, TokenLogprob

Output = Union[str, Completion, BaseException]
ScriptFn = Callable[[list[Message], GenParams], Union[Output, Awaitable[Output]]]
#: A scripted score: the text's total logprob (spread evenly over its words), one logprob
#: per word, or a full Completion.
ScoreOutput = Union[float, Sequence[float], Completion]
ScoreFn = Callable[[list[Message], str], ScoreOutput]


@dataclass(frozen=True)
class ScriptedCall:
    messages: list[Message]
    params: GenParams


class ScriptedBackend(Backend):
    """Returns scripted outputs in order (list) or computed per call (callable).

    A scripted output may be a string, a full :class:`Completion`, or an exception to raise.
    ``delay`` (seconds) is awaited per call, to model latency in benchmarks. ``scorer``
    answers :meth:`score` calls (a list of scores is used in order); without one the backend
    cannot score. ``capabilities`` narrows what it declares (to test capability checks).
    A word counts as a token.

    Example:
        >>> import asyncio
        >>> b = ScriptedBackend([], scorer=[-2.0])
        >>> c = asyncio.run(b.score([Message(role="user", content="2+2?")], "four, surely"))
        >>> [lp.logprob for lp in c.logprobs]
        [-1.0, -1.0]
    """

    def __init__(
        self,
        outputs: Sequence[Output] | ScriptFn,
        model_id: str = "scripted",
        delay: float = 0.0,
        scorer: ScoreFn | Sequence[ScoreOutput] | None = None,
        capabilities: frozenset[str] | None = None,
    ) -> None:
        self.model_id = model_id
        self.delay = delay
        self.calls: list[ScriptedCall] = []
        self.score_calls: list[tuple[list[Message], str]] = []
        self._scores = iter(scorer) if scorer is not None and not callable(scorer) else None
        self._scorer = scorer if callable(scorer) else None
        self.capabilities = _default_capabilities(scorer is not None) if capabilities is None else frozenset(capabilities)
        self._lock = threading.Lock()
        if callable(outputs):
            self._fn: ScriptFn | None = outputs
            self._outputs: list[Output] = []
        else:
            self._fn = None
            self._outputs = list(outputs)
        self._next = 0

    @property
    def remaining(self) -> int:
        """Outputs not yet used (list scripts only)."""
        return len(self._outputs) - self._next

    async def _next_output(self, messages: list[Message], params: GenParams) -> Output:
        if self._fn is not None:
            out = self._fn(messages, params)
            if inspect.isawaitable(out):
                out = await out
            return out
        with self._lock:
            if self._next >= len(self._outputs):
                last = messages[-1].content[:80] if messages else ""
                raise ScriptExhausted(
                    f"scripted backend {self.model_id!r} has no output left for call "
                    f"#{len(self.calls)} (script had {len(self._outputs)}); last message: {last!r}"
                )
            out = self._outputs[self._next]
            self._next += 1
        return out

    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        msgs = list(messages)
        self.calls.append(ScriptedCall(msgs, params))
        start = time.perf_counter()
        if self.delay:
            await asyncio.sleep(self.delay)
        out = await self._next_output(msgs, params)
        if isinstance(out, BaseException):
            raise out
        if isinstance(out, Completion):
            return out
        text = str(out)
        finish = "stop"
        for s in params.stop:
            if s and s in text:
                text = text[: text.index(s)]
        words = len(text.split())
        if words > params.max_tokens:
            text = " ".join(text.split()[: params.max_tokens])
            finish = "length"
        prompt_words = sum(len(m.content.split()) for m in msgs)
        return Completion(
            text=text,
            prompt_tokens=prompt_words,
            completion_tokens=min(words, params.max_tokens),
            finish_reason=finish,
            latency_s=time.perf_counter() - start,
        )

    async def score(self, messages: Sequence[Message], text: str, *, top_logprobs: int = 0) -> Completion:
        msgs = list(messages)
        self.score_calls.append((msgs, text))
        if self._scorer is not None:
            out: ScoreOutput = self._scorer(msgs, text)
        elif self._scores is not None:
            try:
                out = next(self._scores)
            except StopIteration:
                raise ScriptExhausted(f"scripted backend {self.model_id!r} has no score left") from None
        else:
            raise NotImplementedError(f"scripted backend {self.model_id!r} has no scorer")
        if isinstance(out, Completion):
            return out
        words = text.split() or [""]
        per = [float(out) / len(words)] * len(words) if isinstance(out, (int, float)) else [float(x) for x in out]
        return Completion(
            text=text, prompt_tokens=sum(len(m.content.split()) for m in msgs),
            completion_tokens=len(per),
            logprobs=[TokenLogprob(token=w, logprob=lp) for w, lp in zip(words, per)],
        )


def _from_spec(spec: ModelSpec) -> ScriptedBackend:
    """Config form: ``options = {outputs = [...]}`` or ``{outputs_file = "x.jsonl"}``;
    optional ``scores = [...]`` and ``capabilities = [...]``."""
    import json
    from pathlib import Path

    opts: dict[str, Any] = dict(spec.options)
    outputs = opts.pop("outputs", None)
    path = opts.pop("outputs_file", None)
    if path is not None:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        outputs = [json.loads(line) if line.startswith('"') else line for line in lines if line]
    if outputs is None:
        raise ValueError("scripted backend needs options.outputs or options.outputs_file")
    caps = opts.pop("capabilities", None)
    return ScriptedBackend(outputs, model_id=spec.model, delay=float(opts.pop("delay", 0.0)),
                           scorer=opts.pop("scores", None),
                           capabilities=None if caps is None else frozenset(caps))


def _spec_capabilities(spec: ModelSpec) -> frozenset[str]:
    caps = spec.options.get("capabilities")
    if caps is not None:
        return frozenset(caps)
    return _default_capabilities("scores" in spec.options)


def _default_capabilities(can_score: bool) -> frozenset[str]:
    # no full distribution to compute statistics from; scoring only with scripted scores
    return (CAPABILITIES - {SCORE, FULL_DISTRIBUTION}) | ({SCORE} if can_score else frozenset())


def _check(spec: ModelSpec) -> None:
    if "outputs" not in spec.options and "outputs_file" not in spec.options:
        raise ValueError("scripted backend needs options.outputs or options.outputs_file")
    unknown = set(spec.options) - {"outputs", "outputs_file", "delay", "scores", "capabilities"}
    if unknown:
        raise ValueError(f"unknown scripted backend option(s) {sorted(unknown)}")
    bad = set(spec.options.get("capabilities") or ()) - CAPABILITIES
    if bad:
        raise ValueError(f"unknown capabilities {sorted(bad)}; known: {sorted(CAPABILITIES)}")


backends.register("scripted", BackendFactory(_from_spec, _spec_capabilities, _check))
