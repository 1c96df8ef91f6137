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

from mistakelab.backends.base import Backend, ModelSpec, backends
from mistakelab.core.types import Completion, GenParams, Message

Output = Union[str, Completion, BaseException]
ScriptFn = Callable[[list[Message], GenParams], Union[Output, Awaitable[Output]]]


class ScriptExhausted(RuntimeError):
    """The script has no output left for a call: the test expected fewer calls."""


@dataclass(frozen=True)
class ScriptedCall:
    messages: list[Message]
    params: GenParams


class ScriptedBackend(Backend):
    """Returns scripted outputs in order (list) or computed per call (callable).

    A scripted output may be a string, a full :class:`Completion`, or an exception to raise.
    ``delay`` (seconds) is awaited per call, to model latency in benchmarks.
    """

    capabilities = frozenset({"prefill"})

    def __init__(
        self,
        outputs: Sequence[Output] | ScriptFn,
        model_id: str = "scripted",
        delay: float = 0.0,
    ) -> None:
        self.model_id = model_id
        self.delay = delay
        self.calls: list[ScriptedCall] = []
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


def _from_spec(spec: ModelSpec) -> ScriptedBackend:
    """Config form: ``options = {outputs = [...]}`` or ``{outputs_file = "x.jsonl"}``."""
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
    return ScriptedBackend(outputs, model_id=spec.model, delay=float(opts.pop("delay", 0.0)))


backends.register("scripted", _from_spec)
