"""``prm``: a Hugging Face process reward model, loaded through transformers (extra ``train``).

For users with a GPU (or patience) and a model on disk or network access to a hub. Two
conventions of published PRMs:

- ``style="math_shepherd"`` (Math-Shepherd, 2024): a causal LM; the input is the question,
  then each step followed by a tag (``ки``); at each tag the model's next-token logits over
  the good/bad tokens (``+``/``-``) give P(good) = softmax([good, bad])[0].
- ``style="qwen"`` (Qwen2.5-Math-PRM): the chat-formatted question and the steps joined by
  ``<extra_0>``, read by a model with a 2-class head per token; P(good) = softmax(head)[1] at
  each separator. Published checkpoints ship their own modeling code
  (``trust_remote_code=true``); without it the model loads as a token classifier.

A step's position is found from the tokenizer's character offsets (a fast tokenizer is
needed), so a tag that merges with its neighbours still lands on the right token. The model
is loaded once per process and runs in a worker thread. Nothing is downloaded unless
``model`` names a hub repository. The default aggregation is ``min``.

Example (a model directory; see tests/scorers for one built from scratch):
    >>> s = build_scorer({"name": "prm", "model": "peiyi9979/math-shepherd-mistral-7b-prm"})  # doctest: +SKIP
    >>> (await s.score(ctx, solution_text)).scores  # doctest: +SKIP
    [0.97, 0.91, 0.12]
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Literal

from mistakelab.context import CallContext
from mistakelab.core.types import Completion
from mistakelab.scorers.base import Scorer, ScorerParams, scorers
from mistakelab.steps.types import Step

QWEN_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
_models: dict[tuple[Any, ...], tuple[Any, Any, str]] = {}
_lock = threading.Lock()

__all__ = ["ProcessRewardModel", "prm_input", "prm_scores"]


class PrmParams(ScorerParams):
    model: str  # a model directory, or a hub repository id (downloads; needs network)
    style: Literal["math_shepherd", "qwen"] = "math_shepherd"
    step_tag: str = "ки"
    good: str = "+"
    bad: str = "-"
    separator: str = "<extra_0>"
    system: str = QWEN_SYSTEM
    device: str = "auto"  # "cuda" when available, else "cpu"
    trust_remote_code: bool = False
    max_length: int = 4096


def prm_input(question: str, steps: list[str], p: PrmParams, tokenizer: Any = None) -> tuple[str, list[int]]:
    """The text the PRM reads, and the character offset where each step's marker ends.

    Example:
        >>> prm_input("1+1?", ["1+1=2", "So 2."], PrmParams(model="m"))
        ('1+1? 1+1=2 ки\\nSo 2. ки', [13, 22])
    """
    if p.style == "math_shepherd":
        text, ends = question + " ", []
        for i, s in enumerate(steps):
            text += f"{s} {p.step_tag}"
            ends.append(len(text))
            if i < len(steps) - 1:
                text += "\n"
        return text, ends
    body = "".join(s + p.separator for s in steps)
    msgs = [{"role": "system", "content": p.system}, {"role": "user", "content": question},
            {"role": "assistant", "content": body}]
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=False)
    else:
        text = f"{p.system}\n\n{question}\n\n{body}"
    start = text.index(body)
    ends, pos = [], start
    for s in steps:
        pos += len(s) + len(p.separator)
        ends.append(pos)
    return text, ends


def _load(p: PrmParams) -> tuple[Any, Any, str]:
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

    device = p.device if p.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    key = (p.model, p.style, device, p.trust_remote_code)
    with _lock:
        if key not in _models:
            tok = AutoTokenizer.from_pretrained(p.model, trust_remote_code=p.trust_remote_code)
            if not tok.is_fast:
                raise ValueError(f"PRM {p.model!r}: a fast tokenizer is needed (character offsets)")
            if p.style == "math_shepherd":
                cls: Any = AutoModelForCausalLM
            else:
                cls = AutoModel if p.trust_remote_code else AutoModelForTokenClassification
            model = cls.from_pretrained(p.model, trust_remote_code=p.trust_remote_code).to(device).eval()
            _models[key] = (tok, model, device)
        return _models[key]


def _single_id(tok: Any, text: str) -> int:
    ids = tok.encode(text, add_special_tokens=False)
    if not ids:
        raise ValueError(f"the PRM's tokenizer turns {text!r} into no token")
    return ids[-1]


def _marker_token(offsets: list[tuple[int, int]], end: int) -> int:
    """The last (non-empty) token starting before character ``end``: the marker's token."""
    hits = [i for i, (a, b) in enumerate(offsets) if b > a and a < end]
    return hits[-1] if hits else 0


def prm_scores(question: str, steps: list[str], p: PrmParams) -> list[float | None]:
    """P(good) per step (blocking: torch)."""
    import torch

    tok, model, device = _load(p)
    text, ends = prm_input(question, steps, p, tok)
    enc = tok(text, return_offsets_mapping=True, add_special_tokens=p.style == "math_shepherd")
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    if len(ids) > p.max_length:
        return [None] * len(steps)
    positions = [_marker_token(offsets, e) for e in ends]
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids], device=device))
        logits = (out.logits if hasattr(out, "logits") else out[0])[0].float()
        if p.style == "math_shepherd":
            pair = logits[:, [_single_id(tok, p.good), _single_id(tok, p.bad)]]
            probs = torch.softmax(pair, dim=-1)[:, 0]
        else:
            probs = torch.softmax(logits[:, :2], dim=-1)[:, 1]
    return [float(probs[i]) for i in positions]


@scorers.register("prm")
class ProcessRewardModel(Scorer):
    """Each step: a process reward model's score (transformers; the train extra)."""

    name = "prm"
    Params = PrmParams

    async def rate(self, ctx: CallContext, text: str, steps: list[Step], wanted: list[int],
                   completion: Completion | None) -> tuple[dict[int, float | None], str]:
        scores = await asyncio.to_thread(prm_scores, ctx.problem.question, [s.text for s in steps],
                                         self.params)  # type: ignore[arg-type]
        note = "" if any(s is not None for s in scores) else "solution longer than max_length"
        return {i: scores[i] for i in wanted}, note
