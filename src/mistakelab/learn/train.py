"""Train a LoRA adapter with TRL and PEFT on an exported dataset (``mistakelab train sft|dpo``).

The base model is a packaged GGUF (an embedded model name or a ``.gguf`` path: transformers
loads it and dequantizes the weights, so training sees exactly the numbers llama.cpp
computes with) or any Hugging Face model directory. On a GGUF base the adapter is also
written as a GGUF LoRA (:mod:`mistakelab.learn.gguf_lora`), which the ``local`` backend
applies with its ``lora`` option: the fine-tuned model is evaluated by the same engine, on
the same quantized weights, as the model before training.

Output directory: ``checkpoints/`` (TRL's, every ``save_steps``; training resumes from the
last one), ``adapter/`` (PEFT), ``adapter.gguf`` and ``train_summary.json`` (loss per step,
time, peak memory, versions).

Example:
    >>> TrainSettings(kind="dpo").learning_rate
    5e-05
    >>> TrainSettings(kind="sft").learning_rate
    0.0002
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
#: on_log(step, total steps, loss or None)
LogFn = Callable[[int, int, float | None], None]


class TrainError(ValueError):
    """A training request that cannot run (the message says why)."""


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["sft", "dpo", "gkd"]
    max_steps: int = Field(default=50, ge=1)
    #: train on this many tokens instead of ``max_steps`` steps: the steps that read about
    #: ``tokens`` tokens of the tokenized rows (recipes compared at equal training tokens)
    tokens: int | None = Field(default=None, ge=1)
    learning_rate: float | None = None  # None: 2e-4 for sft, 5e-5 for dpo
    batch_size: int = Field(default=1, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    rank: int = Field(default=8, ge=1)
    alpha: float = 16.0
    dropout: float = 0.0
    targets: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    max_length: int = Field(default=1024, ge=16)
    save_steps: int = Field(default=10, ge=1)
    beta: float | None = None  # DPO (None: 0.1) and GKD's generalized JSD (None: 0.5)
    lmbda: float = Field(default=0.5, ge=0, le=1)  # GKD: share of on-policy (student-sampled) batches
    seq_kd: bool = False  # GKD: also train on teacher-generated sequences
    gen_temperature: float = Field(default=0.9, gt=0)  # GKD: sampling of the on-policy samples
    max_new_tokens: int = Field(default=256, ge=1)  # GKD: length of the on-policy samples
    seed: int = 0
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1)

    @model_validator(mode="after")
    def _lr(self) -> "TrainSettings":
        if self.learning_rate is None:
            self.learning_rate = 5e-5 if self.kind == "dpo" else 2e-4
        if self.beta is None:
            self.beta = 0.5 if self.kind == "gkd" else 0.1
        return self


@dataclass
class TrainResult:
    out: str
    adapter: str
    gguf: str | None
    base: str
    dataset: str
    rows: int
    rows_used: int  # after TRL dropped rows whose completion did not fit in max_length
    steps: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    resumed_from: str | None = None
    complete: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    max_steps: int = 0  # the steps planned (settings.max_steps, or the steps of a token budget)
    row_tokens: float | None = None  # mean tokens the trainer reads per row (DPO: prompt, chosen, rejected)


def check_base(base: str) -> None:
    """Refuse a ``--base`` that is none of the kinds :func:`load_base` takes, naming it (a
    typo must not fall through to a download): an embedded model name, a ``.gguf`` path or
    ``hf://`` GGUF, a Hugging Face model folder, or a hub id ``org/name``.

    Example:
        >>> check_base("qwen2.5-coder-05b")
        Traceback (most recent call last):
        ...
        mistakelab.learn.train.TrainError: --base 'qwen2.5-coder-05b': not an embedded model (...), a .gguf file, a Hugging Face model folder or a hub id org/name
    """
    import re

    from mistakelab.models import CATALOGUE

    if base in CATALOGUE or base.startswith("hf://"):
        return
    p = Path(base)
    if base.endswith(".gguf"):
        if not p.is_file():
            raise TrainError(f"--base {base!r}: no such GGUF file")
        return
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise TrainError(f"--base {base!r}: a folder without config.json, so not a Hugging Face model folder")
        return
    if re.fullmatch(r"[\w.-]+/[\w.-]+", base) and not p.exists() and not base.startswith((".", "/")):
        return  # a hub id: transformers resolves it (its own cache first)
    raise TrainError(f"--base {base!r}: not an embedded model ({', '.join(CATALOGUE)}), a .gguf file, a Hugging "
                     "Face model folder or a hub id org/name")


def base_gguf(base: str) -> Path | None:
    """The GGUF file of ``base`` when it is one (an embedded model name or a ``.gguf`` path)."""
    from mistakelab.models import CATALOGUE, resolve_model

    if base in CATALOGUE or base.endswith(".gguf") or base.startswith("hf://"):
        return resolve_model(base)
    return None


def load_base(base: str) -> tuple[Any, Any, Path | None]:
    """(model in float32, tokenizer, GGUF path or None) for a GGUF or a Hugging Face model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = base_gguf(base)
    where, kw = (str(gguf.parent), {"gguf_file": gguf.name}) if gguf else (base, {})
    tok = AutoTokenizer.from_pretrained(where, **kw)
    model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kw)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if gguf is not None:
        # the weights are dequantized to float32, but the model keeps a GGUF "quantizer" tag
        # that the Trainer refuses to train; nothing quantized is left, so drop the tag
        model.hf_quantizer = None
        if "is_quantized" in vars(model):
            model.is_quantized = False
        vars(model.config).pop("quantization_config", None)
    return model, tok, gguf


def load_rows(path: str | Path) -> Any:
    """An exported dataset: a ``mistakelab export`` folder, a ``.jsonl`` or a ``.parquet`` file."""
    import tempfile

    p = check_dataset(path)
    # Built in a cache of its own, in memory: datasets' shared cache keeps the split sizes of an
    # older export of the same folder and then refuses the new one (NonMatchingSplitsSizesError).
    with tempfile.TemporaryDirectory(prefix="mistakelab-ds-") as cache:
        return _load(p, {"split": "train", "cache_dir": cache, "keep_in_memory": True})


def check_dataset(path: str | Path) -> Path:
    """The dataset's path, once it exists and its JSONL (if it is one) is readable rows; a
    :class:`TrainError` naming the file otherwise (cheap: before anything heavy loads)."""
    p = Path(path)
    if not p.exists():
        raise TrainError(f"{p}: no such dataset (give an export folder, a .jsonl or a .parquet file)")
    jsonl = p / "train.jsonl" if p.is_dir() and not (p / "data" / "train.parquet").is_file() else p
    if jsonl.suffix in (".jsonl", ".json") and jsonl.is_file():
        check_jsonl(jsonl)
    return p


def check_jsonl(path: Path) -> None:
    """A JSONL dataset file that is empty, not UTF-8, or has a line that is no JSON object is
    a :class:`TrainError` naming the file and line (before datasets reads it)."""
    import json as _json

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TrainError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    rows = 0
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = _json.loads(line)
        except ValueError as exc:
            raise TrainError(f"{path}, line {i}: invalid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise TrainError(f"{path}, line {i}: a row must be a JSON object")
        rows += 1
    if rows == 0:
        raise TrainError(f"{path}: empty file (no rows)")


def _load(p: Path, fresh: dict[str, Any]) -> Any:
    from datasets import load_dataset

    if p.is_dir():
        if (p / "data" / "train.parquet").is_file():
            return load_dataset(str(p), **fresh)
        if (p / "train.jsonl").is_file():
            return load_dataset("json", data_files=str(p / "train.jsonl"), **fresh)
        raise TrainError(f"{p}: not an export folder (no data/train.parquet or train.jsonl)")
    if p.suffix in (".jsonl", ".json"):
        return load_dataset("json", data_files=str(p), **fresh)
    if p.suffix == ".parquet":
        return load_dataset("parquet", data_files=str(p), **fresh)
    raise TrainError(f"{p}: not a dataset file (give an export folder, a .jsonl or a .parquet file)")


def _callback(on_log: LogFn | None, deadline: float | None) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):  # type: ignore[no-untyped-def]
            loss = (logs or {}).get("loss")
            if on_log:
                on_log(state.global_step, state.max_steps, None if loss is None else float(loss))

        def on_step_end(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            if deadline is not None and time.monotonic() > deadline:  # stop with a checkpoint to resume from
                control.should_save = True
                control.should_training_stop = True

    return Progress()


def make_trainer(kind: str, model: Any, tok: Any, rows: Any, settings: TrainSettings, out: Path,
                 callbacks: list[Any] | None = None, teacher: Any = None) -> Any:
    """The TRL trainer of ``kind`` (its dataset is tokenized here): a fresh LoRA config, or the
    given ``model`` as it is when it already carries a trainable adapter (a PEFT model).
    ``gkd`` needs the ``teacher`` model."""
    from peft import LoraConfig, PeftModel

    common = dict(output_dir=str(out / "checkpoints"), max_steps=settings.max_steps,
                  per_device_train_batch_size=settings.batch_size, gradient_accumulation_steps=settings.grad_accum,
                  learning_rate=settings.learning_rate, logging_steps=1, save_steps=settings.save_steps,
                  save_total_limit=2, report_to="none", use_cpu=True, disable_tqdm=True, seed=settings.seed,
                  dataloader_num_workers=0, max_length=settings.max_length)
    lora = None if isinstance(model, PeftModel) else LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        target_modules=settings.targets, task_type="CAUSAL_LM")
    if kind == "sft":
        from trl import SFTConfig, SFTTrainer

        return SFTTrainer(model=model, args=SFTConfig(**common), train_dataset=rows, processing_class=tok,
                          peft_config=lora, callbacks=callbacks)
    if kind == "dpo":
        from trl import DPOConfig, DPOTrainer

        return DPOTrainer(model=model, args=DPOConfig(beta=settings.beta, **common), train_dataset=rows,
                          processing_class=tok, peft_config=lora, callbacks=callbacks)
    if kind == "gkd":
        if teacher is None:
            raise TrainError("gkd training needs a teacher model")
        try:
            from trl.experimental.gkd import GKDConfig, GKDTrainer
        except ImportError:  # older TRL kept it at the top level
            from trl import GKDConfig, GKDTrainer  # type: ignore[attr-defined,no-redef]

        args = GKDConfig(lmbda=settings.lmbda, beta=settings.beta, seq_kd=settings.seq_kd,
                         temperature=settings.gen_temperature, max_new_tokens=settings.max_new_tokens, **common)
        return GKDTrainer(model=model, teacher_model=teacher, args=args, train_dataset=rows, processing_class=tok,
                          peft_config=lora, callbacks=callbacks)
    raise TrainError(f"unknown training kind {kind!r} (sft, dpo or gkd)")


def _needs(kind: str, columns: list[str]) -> None:
    ok = {"sft": [{"messages"}, {"prompt", "completion"}, {"text"}], "dpo": [{"prompt", "chosen", "rejected"}],
          "gkd": [{"messages"}]}[kind]
    if set(columns) not in ok:
        want = " or ".join("/".join(sorted(c)) for c in ok)
        raise TrainError(f"a {kind} dataset needs the columns {want}; this one has {', '.join(columns)}")


def train_lora(dataset: str | Path, base: str, out: str | Path, settings: TrainSettings,
               on_log: LogFn | None = None, time_limit_s: float | None = None,
               init_adapter: str | Path | None = None, teacher: str | None = None) -> TrainResult:
    """Train (or resume) a LoRA adapter on ``dataset`` over ``base``; write it under ``out``.

    ``time_limit_s``: stop after the first step past this many seconds, with a checkpoint
    (``TrainResult.complete`` False); calling again resumes there. ``init_adapter``: a PEFT
    adapter folder to go on training (instead of a fresh adapter). ``teacher``: the teacher
    model of ``gkd`` training (an embedded name, .gguf or model folder)."""
    import torch
    from transformers.trainer_utils import get_last_checkpoint

    torch.set_num_threads(settings.threads)
    out = Path(out)
    check_base(base)
    rows = load_rows(dataset)
    _needs(settings.kind, rows.column_names)
    if len(rows) == 0:
        raise TrainError(f"{dataset}: the dataset has no rows")
    t0 = time.perf_counter()
    model, tok, gguf = load_base(base)
    if init_adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    teacher_model = load_base(teacher)[0] if teacher is not None else None
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    trainer = make_trainer(settings.kind, model, tok, rows, settings, out, [_callback(on_log, deadline)],
                           teacher=teacher_model)
    used = len(trainer.train_dataset)  # TRL drops rows whose completion max_length cuts off entirely
    if used == 0:
        raise TrainError(f"every row's prompt is longer than max_length={settings.max_length} tokens; raise it")
    row_tokens = mean_row_tokens(trainer.train_dataset, settings.max_length)
    if settings.tokens is not None:
        if row_tokens is None:
            raise TrainError(f"a token budget needs a tokenized dataset ({' or '.join(TOKEN_COLUMNS)}); this "
                             f"{settings.kind} dataset has {', '.join(trainer.train_dataset.column_names)} "
                             "(tokenized per batch): give steps or epochs instead")
        per_step = settings.batch_size * settings.grad_accum
        trainer.args.max_steps = steps_for_tokens(settings.tokens, row_tokens, per_step)
    ckpts = out / "checkpoints"
    last = get_last_checkpoint(str(ckpts)) if ckpts.is_dir() else None
    summary = out / "train_summary.json"
    before = json.loads(summary.read_text()) if last and summary.is_file() else {}  # earlier chunks
    trainer.train(resume_from_checkpoint=last)
    # the log history comes back with a checkpoint, so a resumed run reports every step's loss
    losses = [(int(h["step"]), float(h["loss"])) for h in trainer.state.log_history if "loss" in h]
    adapter = out / "adapter"
    trainer.model.save_pretrained(str(adapter))
    gguf_out = None
    if gguf is not None:
        from mistakelab.learn.gguf_lora import export_gguf_lora

        gguf_out = str(export_gguf_lora(adapter, gguf, out / "adapter.gguf"))
    result = TrainResult(str(out), str(adapter), gguf_out, base, str(dataset), len(rows), used,
                         trainer.state.global_step,
                         losses, before.get("seconds", 0.0) + time.perf_counter() - t0,
                         max(before.get("peak_rss_mb", 0.0), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                         last,
                         trainer.state.global_step >= trainer.args.max_steps, settings.model_dump(), _versions(),
                         trainer.args.max_steps, row_tokens)
    summary.write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    return result


#: the tokenized columns a trainer reads (SFT: input_ids; DPO: prompt_ids, chosen_ids, rejected_ids)
TOKEN_COLUMNS = ("input_ids", "prompt_ids", "chosen_ids", "rejected_ids")


def mean_row_tokens(rows: Any, max_length: int) -> float | None:
    """Mean tokens the trainer reads per row of its tokenized dataset, each sequence cut at
    ``max_length`` as the collator cuts it; None for a dataset the trainer tokenizes per batch
    (GKD's ``messages``).

    Example:
        >>> mean_row_tokens([{"input_ids": [1, 2, 3]}, {"input_ids": [1] * 9}], max_length=5)
        4.0
        >>> mean_row_tokens([{"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [4, 5]}], 99)
        5.0
        >>> mean_row_tokens([{"messages": []}], 99) is None
        True
    """
    total = n = 0
    for row in rows:
        seqs = [row[c] for c in TOKEN_COLUMNS if c in row]
        if not seqs:
            return None
        total += sum(min(len(s), max_length) for s in seqs)
        n += 1
    return total / max(n, 1)


def steps_for_tokens(tokens: int, row_tokens: float, rows_per_step: int) -> int:
    """Optimizer steps that read about ``tokens`` tokens, at ``row_tokens`` a row.

    Example:
        >>> steps_for_tokens(10_000, row_tokens=250.0, rows_per_step=4)
        10
    """
    return max(1, round(tokens / (row_tokens * rows_per_step)))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("torch", "transformers", "trl", "peft", "datasets", "gguf"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out
