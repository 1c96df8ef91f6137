"""A stand-in for the ``vllm`` package (no GPU here): ``LLM.chat`` and ``SamplingParams`` with
the shapes the ``vllm`` backend reads. Its model answers a toy question ``a + b``, wrongly
for some (question, seed) pairs, and records every call."""

from __future__ import annotations

import os
import re
from types import SimpleNamespace
from typing import Any

CALLS: list[dict[str, Any]] = []


class SamplingParams:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class LLM:
    def __init__(self, model: str, **engine_args: Any) -> None:
        self.model, self.engine_args, self.pid = model, engine_args, os.getpid()

    def chat(self, messages: list[list[dict[str, str]]], sampling_params: list[SamplingParams], use_tqdm: bool = True,
             add_generation_prompt: bool = True, continue_final_message: bool = False) -> list[Any]:
        CALLS.append({"n": len(messages), "continue": continue_final_message, "add": add_generation_prompt,
                      "params": sampling_params})
        out = []
        for conv, sp in zip(messages, sampling_params):
            found = re.search(r"(\d+) \+ (\d+)", conv[-1]["content"])
            a, b = map(int, found.groups()) if found else (0, 0)
            text = f"so \\boxed{{{a + b + ((a + (sp.seed or 0)) % 3 == 0)}}}"
            ids = list(range(len(text.split())))
            lps = [{i: SimpleNamespace(logprob=-0.5, decoded_token=w), -1: SimpleNamespace(logprob=-2.0, decoded_token="x")}
                   for i, w in enumerate(text.split())] if sp.logprobs else None
            out.append(SimpleNamespace(prompt_token_ids=[0] * 7, outputs=[SimpleNamespace(
                text=text, token_ids=ids, finish_reason="stop", logprobs=lps)]))
        return out
