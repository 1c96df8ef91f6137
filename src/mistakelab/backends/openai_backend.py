"""A backend for any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp server, Ollama,
OpenAI) through the official async ``openai`` client.

The client's own retries are switched off; this module retries timeouts, refused or failed
connections, HTTP 429 and HTTP 5xx itself, with exponential backoff, jitter and ``Retry-After``.
Other errors (400, 401, 404...) fail at once. A request that still fails comes back as a
``Completion`` with ``finish_reason="error"``: :meth:`OpenAIBackend.generate` never raises for a
failed request.

Example:
    >>> b = OpenAIBackend("qwen2.5-7b", base_url="http://127.0.0.1:8000/v1/")
    >>> b.model_id
    'openai:http://127.0.0.1:8000/v1:qwen2.5-7b'
    >>> sorted(b.capabilities)
    ['top_logprobs']
    >>> sorted(OpenAIBackend("m", base_url="http://127.0.0.1:8000/v1", continuation="vllm").capabilities)
    ['continue', 'top_logprobs']
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any, Awaitable, Callable, Mapping, Sequence

import openai

from mistakelab.backends.base import Backend, BackendFactory, ModelSpec, backends
from mistakelab.backends.openai_wire import (
    CONTINUATION_MODES,
    CONTINUE_FIELDS,
    StreamedChoice,
    capabilities_of,
    check_spec,
    continuation_mode,
    continues,
    retry_after,
    spec_capabilities,
    text_completion,
    to_completion,
    wire,
)
from mistakelab.backends.servers import is_pool
from mistakelab.core.stopping import watch_of
from mistakelab.core.types import Completion, GenParams, Message

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Sent when the key's environment variable is unset: local servers accept any key, and the
#: openai client refuses to start without one.
PLACEHOLDER_KEY = "EMPTY"


class OpenAIBackend(Backend):
    """Chat completions from an OpenAI-compatible server.

    Args:
        model: the served model name (``--served-model-name`` for vLLM).
        base_url: the API root ending in ``/v1``; defaults to ``$OPENAI_BASE_URL`` or OpenAI's.
        api_key_env: name of the environment variable holding the key. The key is read once,
            here, and kept only inside the HTTP client: never in ``model_id``, ``repr`` or logs.
            When the variable is unset the placeholder ``"EMPTY"`` is sent.
        max_concurrency: most requests in flight at once (one semaphore per event loop).
        max_retries: retries after the first attempt, so ``max_retries + 1`` attempts at most.
        initial_backoff, max_backoff: the retry delay doubles from ``initial_backoff`` up to
            ``max_backoff`` seconds, each delay drawn between half and all of that value.
            A ``Retry-After`` header (capped at ``max_backoff``) replaces the computed delay.
        timeout: seconds allowed per attempt.
        extra_body: JSON fields merged into every request body, for server-specific options
            (vLLM: ``{"repetition_penalty": 1.1}``).
        continuation: how the server continues a final assistant message (a prefix), or None.
            ``"vllm"`` / ``"sglang"``: the chat request of such a prefix carries
            ``continue_final_message: true, add_generation_prompt: false`` (the server renders
            the turn open-ended and returns only the new text). ``"llamacpp"``: raw completion on
            a llama.cpp server: ``POST /apply-template`` (at the server root, beside ``/v1``)
            renders the messages before the prefix with the server's own chat template, the
            prefix is appended, and ``/v1/completions`` continues that prompt. With a mode set,
            ``"continue"`` is in :attr:`capabilities`. Without one, a request whose last message
            is an assistant message is never sent (a server would answer it as a new turn): it
            comes back as a failed Completion.
        multi_sample: ``sample`` sends ONE chat request with ``n = k`` for k seeds (vLLM,
            SGLang, OpenAI; llama.cpp refuses ``n > 1``); adds ``"multi_sample"``. The server
            draws the k samples from the first seed (vLLM: the i-th uses seed + i), so sample i
            is reproducible for the same seed list, not for its own seed alone.

    Parameter mapping: ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed`` go as the
    standard fields; ``logprobs``/``top_logprobs`` become ``logprobs=True, top_logprobs=k``.
    ``top_k > 0`` is not part of the OpenAI API, so it is sent as ``top_k`` in the request body;
    vLLM, SGLang and the llama.cpp server honour it, OpenAI itself rejects or ignores it.

    Logprobs: servers return only the top-k alternatives of each token, so the exact
    ``entropy`` and ``kl_from_uniform`` of the full distribution cannot be computed; they are
    left ``None`` rather than approximated from the top-k.

    Continuation: ``extra_body={"continue_final_message": True, ...}`` (the older way to ask
    for it) means ``continuation="vllm"``; those two fields then go only on requests that
    continue a turn.

    Example:
        >>> import asyncio
        >>> from mistakelab.core import GenParams, Message
        >>> async def ask(question: str) -> str:  # doctest: +SKIP
        ...     async with OpenAIBackend("qwen2.5-7b", base_url="http://127.0.0.1:8000/v1") as b:
        ...         c = await b.generate([Message(role="user", content=question)], GenParams())
        ...         return c.text if c.ok else c.error
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 16,
        max_retries: int = 5,
        initial_backoff: float = 0.5,
        max_backoff: float = 20.0,
        timeout: float = 120.0,
        extra_body: Mapping[str, Any] | None = None,
        continuation: str | None = None,
        multi_sample: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be at least 0, got {max_retries}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self.api_key_env = api_key_env
        self.max_concurrency = int(max_concurrency)
        self.max_retries = int(max_retries)
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        self.timeout = float(timeout)
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        self.continuation = continuation_mode(continuation, self.extra_body, multi_sample)
        if self.continuation in ("vllm", "sglang"):
            for name in CONTINUE_FIELDS:  # per request: on a new turn they would be wrong
                self.extra_body.pop(name, None)
        self.multi_sample = bool(multi_sample)
        self.model_id = f"openai:{self.base_url}:{model}"
        self.capabilities = capabilities_of(self.continuation, self.multi_sample)
        # The key goes straight into the client; this object keeps no copy of its own.
        self._client = openai.AsyncOpenAI(
            api_key=os.environ.get(api_key_env) or PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.timeout,
        )
        self._rng = random.Random()
        self._sleep = asyncio.sleep  # the retry wait; tests swap it to record the delays
        # asyncio primitives belong to one loop; a backend reused under a new asyncio.run()
        # gets a fresh semaphore instead of a "bound to a different event loop" error.
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.api_key_env!r}, max_concurrency={self.max_concurrency}, "
            f"max_retries={self.max_retries}, timeout={self.timeout}, "
            f"continuation={self.continuation!r})"
        )

    @property
    def server_root(self) -> str:
        """The server's own root (``base_url`` without ``/v1``), where llama.cpp serves
        ``/apply-template``."""
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    # -- requests -------------------------------------------------------------------------

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem = asyncio.Semaphore(self.max_concurrency)
            self._sem_loop = loop
        return self._sem

    def build_request(self, messages: Sequence[Message], params: GenParams) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for one request.

        Example:
            >>> b = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1")
            >>> req = b.build_request([Message(role="user", content="hi")],
            ...                       GenParams(top_k=20, stop=("\\n",)))
            >>> req["stop"], req["extra_body"]
            (['\\n'], {'top_k': 20})
        """
        req = self._sampling_fields(params, {"messages": wire(messages)})
        if params.logprobs or params.top_logprobs > 0:
            req["logprobs"] = True
            if params.top_logprobs > 0:
                req["top_logprobs"] = params.top_logprobs
        if continues(messages) and self.continuation in ("vllm", "sglang"):
            req.setdefault("extra_body", {}).update(CONTINUE_FIELDS)
        return req

    def build_completion_request(self, prompt: str, params: GenParams) -> dict[str, Any]:
        """The keyword arguments of ``completions.create`` (raw completion of ``prompt``).

        Example:
            >>> b = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1")
            >>> req = b.build_completion_request("Q: 2+2? A:", GenParams(top_logprobs=3))
            >>> req["prompt"], req["logprobs"]
            ('Q: 2+2? A:', 3)
        """
        req = self._sampling_fields(params, {"prompt": prompt})
        if params.logprobs or params.top_logprobs > 0:
            req["logprobs"] = max(params.top_logprobs, 1)  # the legacy API's top-n count
        return req

    def _sampling_fields(self, params: GenParams, req: dict[str, Any]) -> dict[str, Any]:
        req = {"model": self.model, **req, "temperature": params.temperature,
               "top_p": params.top_p, "max_tokens": params.max_tokens}
        if params.stop:
            req["stop"] = list(params.stop)
        if params.seed is not None:
            req["seed"] = params.seed
        body = dict(self.extra_body)
        if params.top_k > 0:
            body["top_k"] = params.top_k  # the request's own top_k beats a configured one
        if params.min_tokens > 0:
            body["min_tokens"] = params.min_tokens  # vLLM/SGLang extension, like top_k
        if body:
            req["extra_body"] = body
        return req

    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        """One chat completion; failures come back as an error Completion, never raised.

        A request whose last message is an assistant message is a continuation (see
        ``continuation``); without a mode it fails here, unsent.
        """
        started = time.perf_counter()
        if continues(messages):
            if self.continuation is None:
                return self._error(
                    "the last message is an assistant turn to continue, and this backend has no "
                    "continuation mode (option continuation = " + " | ".join(CONTINUATION_MODES)
                    + "); not sent, since the server would answer it as a new turn", started)
            if self.continuation == "llamacpp":
                return await self._continue_raw(messages, params, started)
        request = self.build_request(messages, params)
        if params.confidence_stop is not None:
            return await self._streamed(request, params, started)
        got = await self._call(lambda: self._client.chat.completions.create(**request), started)
        return got if isinstance(got, Completion) else self._mapped(
            lambda: to_completion(got[0], got[1]), started)

    async def _streamed(self, request: dict[str, Any], params: GenParams, started: float) -> Completion:
        """A request with a confidence stop, streamed with its top logprobs: the stream is closed
        at the token where the stop fires, so the server cancels the rest (vLLM, SGLang and
        llama.cpp abort a request whose client went away)."""
        request = {**request, "stream": True, "stream_options": {"include_usage": True}}

        async def send() -> StreamedChoice:
            stream = await self._client.chat.completions.create(**request)
            got = StreamedChoice(watch_of(params))
            try:
                async for chunk in stream:
                    if got.add(chunk):
                        break
            finally:
                await stream.close()
            return got

        out = await self._call(send, started)
        return out if isinstance(out, Completion) else self._mapped(lambda: out[0].completion(out[1]), started)

    async def sample(
        self, messages: Sequence[Message], params: GenParams, seeds: Sequence[int | None]
    ) -> list[Completion]:
        """k completions; with ``multi_sample``, one request with ``n = k`` (seed: the first)."""
        if (not self.multi_sample or len(seeds) < 2 or (continues(messages) and not self.continuation)
                or params.confidence_stop is not None):  # each stream is stopped by itself
            return await super().sample(messages, params, seeds)
        started = time.perf_counter()
        request = self.build_request(messages, params.with_(seed=seeds[0]))
        request["n"] = k = len(seeds)
        got = await self._call(lambda: self._client.chat.completions.create(**request), started)
        outs = got if isinstance(got, Completion) else self._mapped(
            lambda: [to_completion(got[0], got[1], i, k) for i in range(k)], started)
        return [outs.model_copy() for _ in seeds] if isinstance(outs, Completion) else outs

    async def _continue_raw(self, messages: Sequence[Message], params: GenParams,
                            started: float) -> Completion:
        """llama.cpp: the server's template renders the turns before the prefix; the prefix
        is appended and the prompt completed, so the reply holds only the continuation."""
        before = {"messages": wire(messages[:-1])}
        got = await self._call(lambda: self._client.post(
            self.server_root + "/apply-template", cast_to=object, body=before), started)
        if isinstance(got, Completion):
            return got
        rendered = got[0].get("prompt") if isinstance(got[0], dict) else None
        if not isinstance(rendered, str):
            return self._error("malformed /apply-template response (no \"prompt\" string)", started)
        request = self.build_completion_request(rendered + messages[-1].content, params)
        done = await self._call(lambda: self._client.completions.create(**request), started)
        return done if isinstance(done, Completion) else self._mapped(
            lambda: text_completion(done[0], got[1] + done[1], params.top_logprobs), started)

    async def _call(self, send: Callable[[], Awaitable[Any]],
                    started: float) -> tuple[Any, float] | Completion:
        """(response, seconds) of ``send()``, retried as the class docs say; or a failed Completion."""
        attempts = self.max_retries + 1
        last_error = "no attempt made"
        for attempt in range(1, attempts + 1):
            try:
                async with self._semaphore():
                    t0 = time.perf_counter()
                    response = await send()
                    return response, time.perf_counter() - t0
            except openai.APIError as exc:
                retryable, description, hint = self._classify(exc)
                last_error = description
                if not retryable:
                    return self._error(f"{description}; not retried (attempt {attempt})", started)
                if attempt == attempts:
                    break
                delay = self._backoff(attempt, hint)
                log.info(  # info: the final failure is reported in the Completion
                    "%s: %s; retry %d/%d in %.2fs",
                    self.model_id, description, attempt, self.max_retries, delay,
                )
                await self._sleep(delay)
        return self._error(f"{last_error}; gave up after {attempts} attempts", started)

    def _mapped(self, convert: Callable[[], Any], started: float) -> Any:
        try:
            return convert()
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            # A 200 whose body is not the expected shape: retrying would not fix it.
            return self._error(f"malformed response ({type(exc).__name__}: {exc})", started)

    def _classify(self, exc: openai.APIError) -> tuple[bool, str, float | None]:
        """(retryable, description, Retry-After seconds or None) of a failed attempt."""
        # APITimeoutError subclasses APIConnectionError, so it is tested first.
        if isinstance(exc, openai.APITimeoutError):
            return True, f"request timed out (timeout {self.timeout:g}s)", None
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return True, f"connection failed ({type(cause).__name__}: {cause})", None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            description = f"HTTP {status} ({type(exc).__name__}): {self._redact(str(exc))[:300]}"
            retryable = status in (408, 429) or status >= 500
            return retryable, description, retry_after(exc.response.headers)
        return False, f"{type(exc).__name__}: {self._redact(str(exc))[:300]}", None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Delay before retry ``attempt`` (1-based): the server's wish, else jittered doubling."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))
        # Jitter spreads out the retries of many requests that failed together.
        return self._rng.uniform(ceiling / 2, ceiling)

    def _redact(self, text: str) -> str:
        # Some servers echo the key back in their error messages.
        key = self._client.api_key
        if isinstance(key, str) and key != PLACEHOLDER_KEY and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    def _error(self, message: str, started: float) -> Completion:
        return Completion(
            text="",
            finish_reason="error",
            error=f"{self.model_id}: {message}",
            latency_s=time.perf_counter() - started,
        )

    async def aclose(self) -> None:
        """Close the HTTP client. Safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._client.close()


def from_spec(spec: ModelSpec) -> Backend:
    """Build from a :class:`ModelSpec`: ``spec.model`` is the served name, options as above;
    a ``base_url`` that is a list of servers builds a
    :class:`~mistakelab.backends.pool.PooledOpenAIBackend`.

    Example:
        >>> spec = ModelSpec(backend="openai", model="m",
        ...                  options={"base_url": "http://127.0.0.1:8000/v1", "max_retries": 2})
        >>> from_spec(spec).max_retries
        2
    """
    check_spec(spec)
    if is_pool(spec.options.get("base_url")):
        from mistakelab.backends.pool import PooledOpenAIBackend

        return PooledOpenAIBackend(spec.model, **spec.options)
    return OpenAIBackend(spec.model, **spec.options)


def _identity(spec: ModelSpec) -> str:
    """The server part of the cache identity; a pool's servers serve the same weights, so
    which one answers is no part of it (a cache_tag tells apart two pools that serve
    different weights under one name)."""
    base_url = spec.options.get("base_url", "default")
    return "@" + ("pool" if is_pool(base_url) else str(base_url))


backends.register("openai", BackendFactory(from_spec, spec_capabilities, check_spec, identity=_identity))
