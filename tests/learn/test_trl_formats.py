"""Every export format loads with ``datasets`` and goes through its TRL trainer's preprocessing.

The tokenizer (a byte-level BPE with a ChatML template) and the model (a one-layer Llama) are
built here from nothing, so no file is downloaded. Each trainer tokenizes its dataset when it
is built; one optimizer step then checks that the tokenized rows also collate and train.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")

from learn_fixtures import scripted_run  # noqa: E402
from mistakelab.learn import RunSource, export_formats, export_run  # noqa: E402

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
FORMS = {"sft": [{}, {"form": "prompt_completion"}]}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    store, run_id = scripted_run(root)
    source = RunSource.open(store, run_id)
    out = {}
    for name in export_formats.names():
        for i, opts in enumerate(FORMS.get(name, [{}])):
            folder = root / f"{name}-{i}"
            export_run(source, name, opts, folder)
            out[(name, i)] = folder
    return out


@pytest.fixture(scope="module")
def tokenizer(exported):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    corpus = [line for folder in exported.values() for line in (folder / "train.jsonl").read_text().splitlines()]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=400, special_tokens=["<|im_start|>", "<|im_end|>", "<pad>"])
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<pad>",
                                   chat_template=CHATML)


def _config(tok):  # type: ignore[no-untyped-def]
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                       pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, num_labels=2)


def _args(cls, tmp_path, **kw):  # type: ignore[no-untyped-def]
    return cls(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, report_to="none",
               use_cpu=True, disable_tqdm=True, save_strategy="no", logging_steps=1, **kw)


def _sft(rows, tok, tmp_path):  # type: ignore[no-untyped-def]
    from transformers import LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    t = SFTTrainer(model=LlamaForCausalLM(_config(tok)), args=_args(SFTConfig, tmp_path), train_dataset=rows,
                   processing_class=tok)
    first = t.train_dataset[0]
    if "completion_mask" in t.train_dataset.column_names:  # loss on the completion only
        mask = first["completion_mask"]
        assert mask[0] == 0 and mask[-1] == 1 and len(mask) == len(first["input_ids"])
    assert first["input_ids"][-1] == tok.eos_token_id or tok.convert_ids_to_tokens(first["input_ids"][-2]) == "<|im_end|>"
    return t


def _dpo(rows, tok, tmp_path):  # type: ignore[no-untyped-def]
    from transformers import LlamaForCausalLM
    from trl import DPOConfig, DPOTrainer

    t = DPOTrainer(model=LlamaForCausalLM(_config(tok)), ref_model=LlamaForCausalLM(_config(tok)),
                   args=_args(DPOConfig, tmp_path), train_dataset=rows, processing_class=tok)
    cols = set(t.train_dataset.column_names)
    assert {"prompt_ids", "chosen_ids", "rejected_ids"} <= cols or \
        {"prompt_input_ids", "chosen_input_ids", "rejected_input_ids"} <= cols, cols
    return t


def _kto(rows, tok, tmp_path):  # type: ignore[no-untyped-def]
    from transformers import LlamaForCausalLM
    from trl import KTOConfig, KTOTrainer

    t = KTOTrainer(model=LlamaForCausalLM(_config(tok)), ref_model=LlamaForCausalLM(_config(tok)),
                   args=_args(KTOConfig, tmp_path), train_dataset=rows, processing_class=tok)
    assert "label" in t.train_dataset.column_names
    return t


def _prm(rows, tok, tmp_path):  # type: ignore[no-untyped-def]
    from transformers import LlamaForTokenClassification
    from trl.experimental.prm import PRMConfig, PRMTrainer

    t = PRMTrainer(model=LlamaForTokenClassification(_config(tok)), args=_args(PRMConfig, tmp_path),
                   train_dataset=rows, processing_class=tok)
    for raw, done in zip(rows, t.train_dataset):
        # one label per step, on the step's last token (the separator), in order
        assert [x for x in done["labels"] if x != -100] == [int(v) for v in raw["labels"]]
    return t


TRAINERS = {"SFTTrainer": _sft, "DPOTrainer": _dpo, "KTOTrainer": _kto, "PRMTrainer": _prm}


@pytest.mark.parametrize("key", [(n, i) for n in export_formats.names() for i in range(len(FORMS.get(n, [{}])))],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_export_goes_through_its_trainers_preprocessing(key, exported, tokenizer, tmp_path) -> None:
    fmt = export_formats.get(key[0])
    assert fmt.trainer in TRAINERS, f"no preprocessing check for {fmt.trainer} (format {fmt.name})"
    rows = datasets.load_dataset(str(exported[key]), split="train", cache_dir=str(tmp_path / "hf"))
    expected = [json.loads(line) for line in (exported[key] / "train.jsonl").read_text().splitlines()]
    assert rows.to_list() == expected
    trainer = TRAINERS[fmt.trainer](rows, tokenizer, tmp_path)
    assert len(trainer.train_dataset) == len(rows)
    out = trainer.train()
    assert out.global_step == 1 and out.training_loss == out.training_loss  # a finite loss, not NaN


@pytest.mark.parametrize("kind,name", [("sft", "correction"), ("dpo", "preference")])
def test_train_settings_build_a_lora_trainer_that_steps(kind, name, exported, tokenizer, tmp_path) -> None:
    from transformers import LlamaForCausalLM

    from mistakelab.learn.train import TrainSettings, make_trainer

    rows = datasets.load_dataset(str(exported[(name, 0)]), split="train", cache_dir=str(tmp_path / "hf"))
    settings = TrainSettings(kind=kind, max_steps=2, save_steps=1, max_length=4096)
    trainer = make_trainer(kind, LlamaForCausalLM(_config(tokenizer)), tokenizer, rows, settings, tmp_path)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)  # only the adapter learns
    assert trainer.train().global_step == 2
    assert (tmp_path / "checkpoints" / "checkpoint-2").is_dir()  # what a rerun resumes from


@pytest.mark.parametrize("kind,name", [("sft", "correction"), ("dpo", "preference")])
def test_row_tokens_count_every_sequence_the_trainer_reads_cut_at_max_length(kind, name, exported, tokenizer,
                                                                              tmp_path) -> None:
    from transformers import LlamaForCausalLM

    from mistakelab.learn.train import TrainSettings, make_trainer, mean_row_tokens

    rows = datasets.load_dataset(str(exported[(name, 0)]), split="train", cache_dir=str(tmp_path / "hf"))
    settings = TrainSettings(kind=kind, max_steps=1, max_length=4096)
    done = make_trainer(kind, LlamaForCausalLM(_config(tokenizer)), tokenizer, rows, settings, tmp_path).train_dataset
    whole = mean_row_tokens(done, 4096)
    # a DPO row's tokens: its prompt, its chosen and its rejected answer (each counted once)
    seqs = ["input_ids"] if kind == "sft" else ["prompt_ids", "chosen_ids", "rejected_ids"]
    assert whole == sum(len(r[c]) for r in done for c in seqs) / len(done) and whole > 20
    assert mean_row_tokens(done, 8) == 8 * len(seqs)  # every sequence cut at max_length
