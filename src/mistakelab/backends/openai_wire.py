"""How OpenAI-compatible servers differ, and their wire formats, for the ``openai`` backend.

The options a config may set and the continuation modes (option ``continuation``) with the
capabilities they give; chat completions mapped to :class:`Completion` with their logprobs,
and legacy text completions (``/v1/completions``, raw continuation on llama.cpp) in either
logprobs shape a llama.cpp server sends. Nothing here makes a request.

Example:
    >>> from mistakelab.core.types import Message
    >>> continues([Message(role="user", content="2+2?"), Message(role="assistant", content="It is")])
    True
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Mapping, Sequence

from mistakelab.backends.base import CONTINUE, MULTI_SAMPLE, TOP_LOGPROBS, ModelSpec
from mistakelab.backends.servers import is_pool, parse_servers
from mistakelab.core.stopping import LowConfidenceStop
from mistakelab.core.types import Completion, Message, TokenLogprob

#: Values of the ``continuation`` option: how the server continues a final assistant message.
CONTINUATION_MODES = ("vllm", "sglang", "llamacpp")
#: Chat-request fields of the vllm/sglang mode, sent only on requests that continue a turn.
CONTINUE_FIELDS = {"continue_final_message": True, "add_generation_prompt": False}


def continuation_mode(mode: Any, extra_body: Mapping[str, Any], multi_sample: Any) -> str | None:
    """The effective continuation mode (``extra_body.continue_final_message`` means vllm)."""
    if mode is not None and mode not in CONTINUATION_MODES:
        raise ValueError(f"openai backend option continuation must be one of "
                         f"{', '.join(CONTINUATION_MODES)} (or unset), got {mode!r}")
    legacy = bool(extra_body.get("continue_final_message"))
    if legacy and mode == "llamacpp":
        raise ValueError("openai backend: extra_body.continue_final_message is the vllm/sglang "
                         "way to continue; drop it with continuation = \"llamacpp\"")
    if multi_sample and mode == "llamacpp":
        raise ValueError("openai backend: multi_sample sends n > 1, which a llama.cpp server "
                         "refuses; drop multi_sample with continuation = \"llamacpp\"")
    return mode or ("vllm" if legacy else None)


def capabilities_of(mode: str | None, multi_sample: bool) -> frozenset[str]:
    """What a backend with this continuation mode and ``multi_sample`` setting declares."""
    caps = {TOP_LOGPROBS}
    if mode is not None:
        caps.add(CONTINUE)
    if multi_sample:
        caps.add(MULTI_SAMPLE)
    return frozenset(caps)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait (``retry-after-ms``, or ``Retry-After`` as seconds
    or an HTTP date), or None.

    Example:
        >>> retry_after({"retry-after": "2"}), retry_after({}), retry_after({"retry-after": "x"})
        (2.0, None, None)
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def wire(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def continues(messages: Sequence[Message]) -> bool:
    """Whether the request continues a final assistant message (a prefix)."""
    return bool(messages) and messages[-1].role == "assistant"


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``: fields a client model does not declare stay plain dicts."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _chat_logprobs(content: Any) -> list[TokenLogprob]:
    return [TokenLogprob(token=_field(t, "token"), logprob=_field(t, "logprob"),
                         top=[(_field(a, "token"), _field(a, "logprob"))
                              for a in (_field(t, "top_logprobs") or [])])
            for t in content]


def _usage(response: Any, share: int = 0, k: int = 1) -> tuple[int, int]:
    """(prompt, completion) tokens; of ``k`` choices, choice ``share`` gets an even part of the
    completion total (the server reports only the total), the first taking the remainder."""
    usage = getattr(response, "usage", None)
    prompt = (getattr(usage, "prompt_tokens", None) or 0) if usage else 0
    total = (getattr(usage, "completion_tokens", None) or 0) if usage else 0
    return prompt, total // k + (total % k if share == 0 else 0)


def _finish(reason: Any) -> str:
    # Anything else ("content_filter", "tool_calls", None) still ended the text.
    return "length" if reason == "length" else "stop"


def to_completion(response: Any, latency: float, index: int = 0, k: int = 1) -> Completion:
    """Map choice ``index`` of a ``ChatCompletion`` (of ``k`` choices) to our :class:`Completion`."""
    choice = response.choices[index]
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    prompt, completion = _usage(response, index, k)
    return Completion(
        text=choice.message.content or "",
        prompt_tokens=prompt,
        completion_tokens=completion,
        finish_reason=_finish(choice.finish_reason),  # type: ignore[arg-type]
        latency_s=latency,
        logprobs=None if content is None else _chat_logprobs(content),
    )


class StreamedChoice:
    """Choice 0 of a streamed chat completion, gathered chunk by chunk; :meth:`add` is True
    at the token where ``watch`` (a confidence stop) fires, and the caller closes the stream
    there, which cancels the request on the server. A server may put several tokens in one
    chunk: the text then ends with that token (its token strings, when they spell the
    chunk's start). A stream stopped early carries no usage, so its prompt tokens are 0 and
    its completion tokens the ones received.

    Example:
        >>> chunk = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop", "logprobs": None}]}
        >>> got = StreamedChoice(None)
        >>> got.add(chunk), got.completion(0.5).text, got.completion(0.5).finish_reason
        (False, 'Hi', 'stop')
    """

    def __init__(self, watch: LowConfidenceStop | None) -> None:
        self.watch = watch
        self.text: list[str] = []
        self.logprobs: list[TokenLogprob] = []
        self.finish: str | None = None
        self.usage: tuple[int, int] | None = None

    def add(self, chunk: Any) -> bool:
        usage = _field(chunk, "usage")
        if usage:
            self.usage = (_field(usage, "prompt_tokens") or 0, _field(usage, "completion_tokens") or 0)
        for choice in _field(chunk, "choices") or []:
            if (_field(choice, "index") or 0) != 0:
                continue
            content = _field(_field(choice, "delta") or {}, "content") or ""
            raw = _field(_field(choice, "logprobs") or {}, "content")
            tokens = _chat_logprobs(raw) if raw else []
            for j, lp in enumerate(tokens):
                self.logprobs.append(lp)
                if self.watch is not None and self.watch.push(lp):
                    spelled = "".join(t.token for t in tokens[: j + 1])
                    self.text.append(spelled if content.startswith(spelled) else content)
                    self.finish = "low_confidence"
                    return True
            self.text.append(content)
            if _field(choice, "finish_reason"):
                self.finish = _field(choice, "finish_reason")
        return False

    def completion(self, latency: float) -> Completion:
        stopped = self.finish == "low_confidence"
        prompt, done = self.usage if self.usage and not stopped else (0, len(self.logprobs))
        return Completion(text="".join(self.text), prompt_tokens=prompt, completion_tokens=done,
                          finish_reason="low_confidence" if stopped else _finish(self.finish),  # type: ignore[arg-type]
                          latency_s=latency, logprobs=self.logprobs or None)


def text_completion(response: Any, latency: float, top_n: int) -> Completion:
    """Map a legacy ``Completion`` (``/v1/completions``) to our :class:`Completion`.

    Logprobs come in the legacy shape (``tokens``, ``token_logprobs``, ``top_logprobs`` as
    one {token: logprob} map per token; llama.cpp adds the chosen token to the map) or, from
    older llama.cpp servers, in the chat shape under ``content``.
    """
    choice = response.choices[0]
    raw = getattr(choice, "logprobs", None)
    logprobs = None
    if raw is not None and _field(raw, "content") is not None:
        logprobs = _chat_logprobs(_field(raw, "content"))
        logprobs = [lp.model_copy(update={"top": lp.top[:top_n]}) for lp in logprobs]
    elif raw is not None and _field(raw, "tokens") is not None:
        tops = _field(raw, "top_logprobs") or [None] * len(_field(raw, "tokens"))
        logprobs = [TokenLogprob(token=tok, logprob=lp, top=sorted(
                        (top or {}).items(), key=lambda kv: -kv[1])[:top_n])
                    for tok, lp, top in zip(_field(raw, "tokens"), _field(raw, "token_logprobs"), tops)]
    prompt, completion = _usage(response)
    return Completion(text=choice.text or "", prompt_tokens=prompt, completion_tokens=completion,
                      finish_reason=_finish(choice.finish_reason),  # type: ignore[arg-type]
                      latency_s=latency, logprobs=logprobs)


_OPTIONS = (
    "base_url",
    "api_key_env",
    "max_concurrency",
    "max_retries",
    "initial_backoff",
    "max_backoff",
    "timeout",
    "extra_body",
    "continuation",
    "multi_sample",
    # a pool of servers (base_url a list) only: seconds a down server waits for its first probe
    "probe_backoff",
    "max_probe_backoff",
)


def check_spec(spec: ModelSpec) -> None:
    """Reject options this backend does not know, and API keys written into a config."""
    if "api_key" in spec.options:
        raise ValueError(
            "openai backend: keep the API key out of configs; put it in an environment "
            "variable and name that variable with options.api_key_env"
        )
    unknown = sorted(set(spec.options) - set(_OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown openai backend option(s) {unknown}; known: {', '.join(_OPTIONS)}"
        )
    base_url = spec.options.get("base_url")
    if is_pool(base_url):
        parse_servers(base_url)
    elif base_url is not None and not isinstance(base_url, str):
        raise ValueError("openai backend option base_url: expected a URL or a list of servers")
    elif {"probe_backoff", "max_probe_backoff"} & set(spec.options):
        raise ValueError("openai backend options probe_backoff/max_probe_backoff apply to a list of "
                         "servers (base_url = [...]) only")
    _spec_mode(spec)


def spec_capabilities(spec: ModelSpec) -> frozenset[str]:
    """What a backend built from ``spec`` can do (see ``OpenAIBackend``).

    Example:
        >>> sorted(spec_capabilities(ModelSpec(backend="openai", model="m",
        ...                                    options={"continuation": "llamacpp"})))
        ['continue', 'top_logprobs']
    """
    return capabilities_of(_spec_mode(spec), bool(spec.options.get("multi_sample")))


def _spec_mode(spec: ModelSpec) -> str | None:
    o = spec.options
    return continuation_mode(o.get("continuation"), o.get("extra_body") or {}, o.get("multi_sample", False))
