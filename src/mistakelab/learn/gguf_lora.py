"""A PEFT LoRA adapter as a GGUF LoRA adapter, for the ``local`` backend (llama.cpp).

PEFT stores ``lora_A`` (rank x in) and ``lora_B`` (out x rank) per adapted linear layer under
Hugging Face names; llama.cpp reads ``<gguf tensor>.lora_a`` / ``.lora_b`` with the same
shapes, under the GGUF names of the base model (``blk.3.attn_q.weight``), plus
``adapter.lora.alpha`` (its scale is alpha / rank, as in PEFT). ``gguf``'s tensor-name map
translates the names.

One layout detail: llama.cpp's converter permutes the rows of the query and key projections
of ``llama``-architecture models (rotary embedding layout), and transformers undoes it when
it loads such a GGUF. An adapter trained on that un-permuted model must be permuted the same
way on its output side (``lora_B``) to fit the GGUF weights. ``qwen2`` needs no permutation.
Other architectures are refused rather than guessed.

Example:
    >>> import numpy as np
    >>> b = np.arange(8, dtype=np.float32).reshape(4, 2)  # out=4 (1 head of dim 4), rank 2
    >>> permute_rows(b, n_head=1).tolist()  # rows 0,2,1,3: halves interleaved
    [[0.0, 1.0], [4.0, 5.0], [2.0, 3.0], [6.0, 7.0]]
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

SUPPORTED = ("llama", "qwen2")
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


class LoraExportError(ValueError):
    """An adapter that cannot be written as a GGUF LoRA (the message says why)."""


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's rotary permutation of a projection's output rows (per head)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _base_meta(base_gguf: Path) -> tuple[str, int, int, int]:
    """(architecture, blocks, heads, kv heads) from the base model's GGUF header."""
    from mistakelab.models import read_file_metadata

    meta = read_file_metadata(base_gguf)
    arch = str(meta.get("general.architecture"))
    n_head = int(meta.get(f"{arch}.attention.head_count", 0))
    return arch, int(meta.get(f"{arch}.block_count", 0)), n_head, int(meta.get(f"{arch}.attention.head_count_kv", n_head))


def export_gguf_lora(adapter_dir: str | Path, base_gguf: str | Path, out: str | Path) -> Path:
    """Write the PEFT adapter in ``adapter_dir`` as a GGUF LoRA for ``base_gguf``; returns ``out``."""
    import gguf
    from safetensors.numpy import load_file

    adapter_dir, out = Path(adapter_dir), Path(out)
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if cfg.get("use_rslora") or cfg.get("use_dora"):
        raise LoraExportError("rsLoRA and DoRA adapters scale differently; llama.cpp reads plain LoRA only")
    arch, n_blocks, n_head, n_kv = _base_meta(Path(base_gguf))
    if arch not in SUPPORTED:
        raise LoraExportError(f"GGUF LoRA export supports {', '.join(SUPPORTED)} models, not {arch!r}")
    names = gguf.get_tensor_name_map({v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[arch], n_blocks)
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(cfg.get("lora_alpha", cfg.get("r", 8))))
    for key in sorted(tensors):
        m = _KEY.match(key)
        if m is None:
            raise LoraExportError(f"{key}: not a LoRA A/B weight (only LoRA on linear layers is exported)")
        module, ab = m["module"], m["ab"]
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise LoraExportError(f"{module}: no GGUF tensor of a {arch} model matches it")
        w = tensors[key].astype(np.float32)
        if arch == "llama" and ab == "B" and (".attn_q." in target or ".attn_k." in target):
            w = permute_rows(w, n_head if ".attn_q." in target else n_kv)
        writer.add_tensor(f"{target}.lora_{ab.lower()}", np.ascontiguousarray(w))
    out.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
