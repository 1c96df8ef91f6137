"""The Hugging Face PRM scorer on tiny randomly initialised models that the test builds and saves
itself (a word-level tokenizer, a one-layer Llama): nothing is downloaded. Skipped when torch
or transformers is absent (they come with the ``train`` extra)."""

from __future__ import annotations

import asyncio

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from mistakelab.backends import ScriptedBackend  # noqa: E402
from mistakelab.context import CallContext  # noqa: E402
from mistakelab.core import Problem  # noqa: E402
from mistakelab.scorers import build_scorer  # noqa: E402
from mistakelab.scorers.prm import PrmParams, prm_input  # noqa: E402

from conftest import ToyAdd  # noqa: E402

WORDS = ["[UNK]", "[PAD]", "ки", "+", "-", "<extra_0>", "What", "is", "2", "3", "5", "6", "=", "So", "the",
         "answer", "?", ".", "Please", "reason"]
PROBLEM = Problem(id="p", question="What is 2 + 3 ?", answer="5")
STEPS = "2 + 3 = 5\n\nSo the answer is 5 ."


def tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


def config():  # type: ignore[no-untyped-def]
    return transformers.LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                    num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                                    pad_token_id=1, num_labels=2)


def saved(path, cls, seed: int):  # type: ignore[no-untyped-def]
    """A randomly initialised model of ``cls`` and the tokenizer, saved under ``path``."""
    torch.manual_seed(seed)
    model = cls(config())
    model.save_pretrained(path)
    tokenizer().save_pretrained(path)
    return path, model.eval()


@pytest.fixture(scope="module")
def shepherd(tmp_path_factory):  # type: ignore[no-untyped-def]
    return saved(tmp_path_factory.mktemp("shepherd"), transformers.LlamaForCausalLM, 0)


@pytest.fixture(scope="module")
def qwen_style(tmp_path_factory):  # type: ignore[no-untyped-def]
    return saved(tmp_path_factory.mktemp("qwenprm"), transformers.LlamaForTokenClassification, 1)


def score(spec):  # type: ignore[no-untyped-def]
    ctx = CallContext.standalone(ScriptedBackend([]), PROBLEM, ToyAdd())
    return asyncio.run(build_scorer(spec).score(ctx, STEPS))


def test_math_shepherd_style_reads_good_vs_bad_at_each_tag(shepherd) -> None:  # type: ignore[no-untyped-def]
    path, model = shepherd
    s = score({"name": "prm", "model": str(path), "device": "cpu"})
    # by hand: the input, the tag positions, softmax over the "+" and "-" logits there
    text, _ = prm_input(PROBLEM.question, ["2 + 3 = 5", "So the answer is 5 ."], PrmParams(model="m"))
    ids = tokenizer()(text)["input_ids"]
    tags = [i for i, t in enumerate(ids) if t == WORDS.index("ки")]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    want = torch.softmax(logits[tags][:, [WORDS.index("+"), WORDS.index("-")]], dim=-1)[:, 0].tolist()
    assert len(tags) == 2 and s.scores == pytest.approx(want, abs=1e-5)
    assert s.aggregate == pytest.approx(min(want), abs=1e-5) and s.scorer == "prm"


def test_a_zeroed_head_gives_one_half_and_prod_multiplies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config())
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every logit 0: P(good) = 1/2 exactly
    model.save_pretrained(tmp_path)
    tokenizer().save_pretrained(tmp_path)
    s = score({"name": "prm", "model": str(tmp_path), "device": "cpu", "agg": "prod"})
    assert s.scores == [0.5, 0.5] and s.aggregate == 0.25


def test_qwen_style_reads_the_two_class_head_at_each_separator(qwen_style) -> None:  # type: ignore[no-untyped-def]
    path, model = qwen_style
    s = score({"name": "prm", "model": str(path), "style": "qwen", "device": "cpu", "system": "Please reason"})
    text, _ = prm_input(PROBLEM.question, ["2 + 3 = 5", "So the answer is 5 ."],
                        PrmParams(model="m", style="qwen", system="Please reason"))
    assert text.endswith("2 + 3 = 5<extra_0>So the answer is 5 .<extra_0>")
    enc = tokenizer()(text, return_offsets_mapping=True, add_special_tokens=False)
    ends = [text.index("<extra_0>") + len("<extra_0>"), len(text)]
    marks = [max(i for i, (a, b) in enumerate(enc["offset_mapping"]) if a < e and b > a) for e in ends]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([enc["input_ids"]])).logits[0]
    want = torch.softmax(logits[marks], dim=-1)[:, 1].tolist()
    assert s.scores == pytest.approx(want, abs=1e-5)


def test_scores_beyond_max_length_are_unscored(shepherd) -> None:  # type: ignore[no-untyped-def]
    path, _ = shepherd
    s = score({"name": "prm", "model": str(path), "device": "cpu", "max_length": 4})
    assert s.scores == [None, None] and s.aggregate is None and "max_length" in s.note
