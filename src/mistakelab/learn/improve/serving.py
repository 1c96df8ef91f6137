"""Serving a loop's adapter: on the embedded engine (``lora = <adapter.gguf>``), or on a GPU
server with vLLM, which serves the PEFT folder as a named LoRA module that an ``openai``
model spec then names.

Example:
    >>> a = FinalAdapter("improve-1a2b3c4d", 2, "/x/round-2/train/adapter", "/x/round-2/train/adapter.gguf",
    ...                  "qwen2.5-coder-0.5b")
    >>> a.vllm_command()
    'vllm serve Qwen/Qwen2.5-Coder-0.5B-Instruct --enable-lora --lora-modules improve-1a2b3c4d-r2=/x/round-2/train/adapter'
    >>> a.openai_spec("http://127.0.0.1:8000/v1").model
    'improve-1a2b3c4d-r2'
"""

from __future__ import annotations

from dataclasses import dataclass

from mistakelab.backends.base import ModelSpec
from mistakelab.store.db import RunStore
from mistakelab.store.improve import loop_stages

#: the Hugging Face model each embedded GGUF was made from (what vLLM loads under the adapter)
HF_BASE = {"qwen2.5-coder-0.5b": "Qwen/Qwen2.5-Coder-0.5B-Instruct",
           "qwen2.5-coder-1.5b": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
           "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}


@dataclass(frozen=True)
class FinalAdapter:
    loop_id: str
    round: int
    peft: str  # the PEFT folder (vLLM, transformers)
    gguf: str  # the GGUF LoRA (the embedded engine's ``lora`` option)
    base: str  # the model it was trained on

    @property
    def name(self) -> str:
        """The LoRA module name to serve it under."""
        return f"{self.loop_id}-r{self.round}"

    def vllm_command(self) -> str:
        base = HF_BASE.get(self.base, "<the Hugging Face folder of " + self.base + ">")
        return f"vllm serve {base} --enable-lora --lora-modules {self.name}={self.peft}"

    def local_spec(self) -> ModelSpec:
        """The adapter on the embedded engine."""
        return ModelSpec(backend="local", model=self.base, name=self.name, options={"lora": self.gguf})

    def openai_spec(self, base_url: str) -> ModelSpec:
        """The adapter served by vLLM as LoRA module :attr:`name`: requests name the module."""
        return ModelSpec(backend="openai", model=self.name, options={"base_url": base_url})


def final_adapter(store: RunStore, loop_id: str) -> FinalAdapter | None:
    """The adapter of the loop's last trained round (None before the first training)."""
    trained = [s for s in loop_stages(store, loop_id) if s.stage == "train"]
    if not trained:
        return None
    last = max(trained, key=lambda s: s.round)
    return FinalAdapter(loop_id, last.round, last.result["adapter"], last.result["gguf"], last.result["base"])
