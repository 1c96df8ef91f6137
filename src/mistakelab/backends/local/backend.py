"""The ``local`` backend: in-process llama.cpp with continuous batching.

Engines are cached per process by (model path, settings): backends built from equal specs
share one loaded model, one context and one decode thread; the last :meth:`aclose` frees them.

Options (``ModelSpec.options``): ``n_seq`` (32 parallel sequences, or this machine's tuning:
``mistakelab models --tune``), ``n_ctx_per_seq`` (2048, or the tuning's), ``n_threads`` (CPU
count), ``n_batch`` / ``n_ubatch`` (512), ``kv_unified`` (false: a KV stream per sequence),
``flash_attn`` (true), ``prefix_cache`` (true: a prompt reuses the KV of the longest token
prefix it shares with an earlier request, prompt and generated text, still held by a slot: a
conversation's next turn evaluates only the new turn), ``lora`` / ``lora_scale``.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ModelSpec, create_backend
    >>> from mistakelab.core import GenParams, Message
    >>> async def demo():
    ...     async with create_backend(ModelSpec(backend="local", model="smollm2-135m")) as b:
    ...         msgs = [Message(role="user", content="Hi")]
    ...         return await b.generate(msgs, GenParams(max_tokens=8))
    >>> asyncio.run(demo()).finish_reason in {"stop", "length"}  # doctest: +SKIP
    True
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import threading
from pathlib import Path
from typing import Any, Sequence

from mistakelab.backends.base import Backend, ModelSpec
from mistakelab.backends.local import LOCAL_CAPABILITIES, adapter_identity, resolved_settings
from mistakelab.backends.local.engine import Engine, EngineSettings
from mistakelab.backends.local.template import TemplateError
from mistakelab.core.types import Completion, GenParams, Message
from mistakelab.models import file_sha256, model_label, resolve_model

_engines: dict[tuple[str, EngineSettings], list[Any]] = {}  # key -> [engine, refcount]
_engines_lock = threading.Lock()
_requests = itertools.count()  # process-wide: tags stay unique across backends sharing an engine


def acquire_engine(path: Path, settings: EngineSettings) -> Engine:
    """The shared engine for (path, settings); pair with :func:`release_engine`."""
    key = (str(path.resolve()), settings)
    with _engines_lock:
        entry = _engines.get(key)
        if entry is None:
            entry = _engines[key] = [Engine(path, settings), 0]
        entry[1] += 1
        return entry[0]


def release_engine(engine: Engine) -> None:
    with _engines_lock:
        for key, entry in list(_engines.items()):
            if entry[0] is engine:
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del _engines[key]
                break
        else:
            return
    engine.close()


@atexit.register
def _close_all() -> None:
    # Stop decode threads before the interpreter (and llama.cpp) is torn down under them.
    with _engines_lock:
        engines = [entry[0] for entry in _engines.values()]
        _engines.clear()
    for engine in engines:
        engine.close()


class LocalBackend(Backend):
    """A llama.cpp model in this process. ``model`` is an embedded name, a path or ``hf://``.

    ``sample`` evaluates the prompt once and branches it k ways (see the engine docs);
    ``score`` rates a completion produced elsewhere under this model.
    """

    capabilities = LOCAL_CAPABILITIES

    def __init__(self, model: str | Path, settings: EngineSettings | None = None) -> None:
        self.path = resolve_model(model)
        self.settings = settings or EngineSettings()
        sha = file_sha256(self.path)
        self.model_id = f"local:{model_label(model)}:{sha[:12]}"
        # the adapter is part of the model
        self.model_id += adapter_identity({"lora": self.settings.lora, "lora_scale": self.settings.lora_scale})
        self.engine = acquire_engine(self.path, self.settings)
        self._closed = False

    def _encode(self, messages: Sequence[Message]) -> list[int] | str:
        if self._closed:
            return "local backend is closed"
        try:
            return self.engine.encode(messages)
        except (TemplateError, UnicodeError, RuntimeError) as exc:  # a bad request, not a crash
            return str(exc)

    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        return (await self.sample(messages, params, [params.seed]))[0]

    async def sample(
        self, messages: Sequence[Message], params: GenParams, seeds: Sequence[int | None]
    ) -> list[Completion]:
        if not seeds:
            return []
        tokens = self._encode(messages)
        if isinstance(tokens, str):
            return [Completion(text="", finish_reason="error", error=tokens) for _ in seeds]
        per_seed = [params if s == params.seed else params.with_(seed=s) for s in seeds]
        # Tags let logits hooks tell requests apart: (request number, branch index).
        request = next(_requests)
        tags = [(request, i) for i in range(len(seeds))]
        futures = self.engine.submit(tokens, per_seed, tags=tags)
        return list(await asyncio.gather(*futures))

    async def score(
        self, messages: Sequence[Message], completion_text: str, *, top_logprobs: int = 0
    ) -> Completion:
        """How likely this model finds ``completion_text`` as the answer to ``messages``.

        Prompt and completion are evaluated in one batched forward pass (split only where
        they exceed ``n_batch`` tokens), with no sampling. The result has ``text`` =
        ``completion_text``, ``completion_tokens`` its token count, and ``logprobs``: per
        completion token its logprob, plus the entropy and KL from uniform of the model's full
        next-token distribution there (and ``top_logprobs`` alternatives if asked).

        Tokenization: the prompt is rendered exactly as for :meth:`generate` (chat template
        with the generation prompt; a final assistant message is a prefill) and tokenized;
        ``completion_text`` is tokenized on its own (no BOS, special-token markers kept as
        literal text) and appended. So no token spans the boundary, as when the model
        generates; a completion whose text re-tokenizes differently from how another model
        (or sampler) produced it is scored in this tokenizer's canonical split.

        Example:
            >>> msgs = [Message(role="user", content="2+2?")]
            >>> c = await backend.score(msgs, "The answer is 4.")  # doctest: +SKIP
            >>> sum(lp.logprob for lp in c.logprobs) / c.completion_tokens  # doctest: +SKIP
            -0.41
        """
        prompt = self._encode(messages)
        if isinstance(prompt, str):
            return Completion(text="", finish_reason="error", error=prompt)
        completion = self.engine.model.tokenize_text(completion_text)
        future = self.engine.submit_score(prompt, completion, completion_text,
                                          top_logprobs=top_logprobs, tag=(next(_requests), 0))
        return await future

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(release_engine, self.engine)


def from_spec(spec: ModelSpec) -> LocalBackend:
    """Build a :class:`LocalBackend` from a :class:`ModelSpec` (registered as ``local``)."""
    return LocalBackend(spec.model, resolved_settings(spec.model, spec.options)[0])
