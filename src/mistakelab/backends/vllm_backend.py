"""``vllm``: a vLLM engine inside the process (``vllm.LLM``), for Ray workers on GPU nodes
that each start their own engine (``[execution] worker_gpus = 1``).

The engine is built when the backend is (on the worker, on first use), from ``spec.model``
and the spec's options as ``vllm.LLM`` keyword arguments (``tensor_parallel_size``,
``gpu_memory_utilization``, ``max_model_len``, ``dtype``...). Calls run in a thread, one at a
time (the engine batches the k samples of one call); for many units at once, a vLLM server
on the node behind the ``openai`` backend batches across them and is the faster recipe.
``vllm`` is imported only when a backend is built: configs check without it.

Example:
    >>> sorted(spec_capabilities(ModelSpec(backend="vllm", model="Qwen/Qwen2.5-7B-Instruct")))
    ['continue', 'multi_sample', 'top_logprobs']
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Sequence

from mistakelab.backends.base import (
    CONTINUE,
    MULTI_SAMPLE,
    TOP_LOGPROBS,
    Backend,
    BackendFactory,
    ModelSpec,
    backends,
)
from mistakelab.backends.openai_wire import continues, wire
from mistakelab.core.types import Completion, GenParams, Message, TokenLogprob


class VLLMBackend(Backend):
    """Chat completions from an in-process ``vllm.LLM`` (module docstring)."""

    capabilities = frozenset({CONTINUE, MULTI_SAMPLE, TOP_LOGPROBS})

    def __init__(self, model: str, **engine_args: Any) -> None:
        import vllm  # the worker's own install (a GPU node)

        self._vllm = vllm
        self.llm = vllm.LLM(model=model, **engine_args)
        self.model_id = f"vllm:{model}"
        self._lock = threading.Lock()

    def sampling(self, params: GenParams, seed: int | None) -> Any:
        """The ``vllm.SamplingParams`` of one sample."""
        return self._vllm.SamplingParams(
            temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or -1,
            max_tokens=params.max_tokens, min_tokens=params.min_tokens, stop=list(params.stop) or None, seed=seed,
            logprobs=(params.top_logprobs or 1) if params.logprobs or params.top_logprobs else None)

    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        return (await self.sample(messages, params, [params.seed]))[0]

    async def sample(self, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        """One engine call for the k seeds (a batch of k conversations, one sample each)."""
        started = time.perf_counter()
        more = continues(messages)
        chats = [wire(messages)] * len(seeds)
        sampling = [self.sampling(params, s) for s in seeds]

        def run() -> Any:
            with self._lock:
                return self.llm.chat(chats, sampling, use_tqdm=False, add_generation_prompt=not more,
                                     continue_final_message=more)

        outs = await asyncio.to_thread(run)
        latency = time.perf_counter() - started
        return [_completion(o, latency, params.top_logprobs) for o in outs]


def _completion(out: Any, latency: float, top_n: int) -> Completion:
    gen = out.outputs[0]
    logprobs = None
    if getattr(gen, "logprobs", None):
        logprobs = []
        for tok_id, alternatives in zip(gen.token_ids, gen.logprobs):
            chosen = alternatives[tok_id]
            ranked = sorted(alternatives.values(), key=lambda a: -a.logprob)[:top_n]
            logprobs.append(TokenLogprob(token=chosen.decoded_token or "", logprob=chosen.logprob,
                                         top=[(a.decoded_token or "", a.logprob) for a in ranked]))
    return Completion(text=gen.text, prompt_tokens=len(out.prompt_token_ids or []),
                      completion_tokens=len(gen.token_ids), latency_s=latency, logprobs=logprobs,
                      finish_reason="length" if gen.finish_reason == "length" else "stop")


def _from_spec(spec: ModelSpec) -> VLLMBackend:
    return VLLMBackend(spec.model, **spec.options)


def spec_capabilities(spec: ModelSpec) -> frozenset[str]:
    return VLLMBackend.capabilities


backends.register("vllm", BackendFactory(_from_spec, spec_capabilities))
