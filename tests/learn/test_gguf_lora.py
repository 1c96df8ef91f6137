"""A PEFT adapter written as a GGUF LoRA: names, shapes, alpha, and the llama q/k row order."""

from __future__ import annotations

import json

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from mistakelab.learn.gguf_lora import LoraExportError, export_gguf_lora, permute_rows  # noqa: E402

HEADS, KV, DIM, EMB, R = 2, 1, 4, 8, 2  # q out = HEADS*DIM, k/v out = KV*DIM


def _base(path, arch):  # type: ignore[no-untyped-def]
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(1)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _adapter(d, extra=None):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    t = {}
    for proj, out in (("q_proj", HEADS * DIM), ("k_proj", KV * DIM), ("v_proj", KV * DIM)):
        key = f"base_model.model.model.layers.0.self_attn.{proj}"
        t[f"{key}.lora_A.weight"] = rng.normal(size=(R, EMB)).astype(np.float32)
        t[f"{key}.lora_B.weight"] = rng.normal(size=(out, R)).astype(np.float32)
    t.update(extra or {})
    d.mkdir()
    safetensors_numpy.save_file(t, str(d / "adapter_model.safetensors"))
    (d / "adapter_config.json").write_text(json.dumps({"r": R, "lora_alpha": 4, "peft_type": "LORA"}))
    return t


def _read(path):  # type: ignore[no-untyped-def]
    r = gguf.GGUFReader(str(path))
    tensors = {t.name: np.array(t.data).reshape([int(x) for x in reversed(t.shape)]) for t in r.tensors}
    alpha = float(r.fields["adapter.lora.alpha"].parts[-1][0])
    kind = bytes(r.fields["adapter.type"].parts[-1]).decode()
    return tensors, alpha, kind


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_tensors_get_gguf_names_and_llama_q_k_rows_are_permuted(arch, tmp_path) -> None:
    src = _adapter(tmp_path / "adapter")
    out = export_gguf_lora(tmp_path / "adapter", _base(tmp_path / "base.gguf", arch), tmp_path / "a.gguf")
    tensors, alpha, kind = _read(out)
    assert kind == "lora" and alpha == 4.0
    assert sorted(tensors) == sorted(f"blk.0.attn_{p}.weight.lora_{ab}" for p in "qkv" for ab in "ab")
    pre = "base_model.model.model.layers.0.self_attn"
    for p, heads in (("q", HEADS), ("k", KV), ("v", None)):
        a, b = src[f"{pre}.{p}_proj.lora_A.weight"], src[f"{pre}.{p}_proj.lora_B.weight"]
        np.testing.assert_array_equal(tensors[f"blk.0.attn_{p}.weight.lora_a"], a)
        want = permute_rows(b, heads) if arch == "llama" and heads else b
        np.testing.assert_array_equal(tensors[f"blk.0.attn_{p}.weight.lora_b"], want)
        if arch == "llama" and heads:
            assert not np.array_equal(want, b)  # the permutation did move rows


def test_permute_rows_is_llama_cpp_rotary_order_per_head() -> None:
    w = np.arange(8).reshape(8, 1)  # two heads of four rows: (0 1 | 2 3), (4 5 | 6 7)
    assert permute_rows(w, 2).ravel().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_unsupported_architecture_and_foreign_tensors_are_refused(tmp_path) -> None:
    _adapter(tmp_path / "adapter")
    with pytest.raises(LoraExportError, match="not 'gemma'"):
        export_gguf_lora(tmp_path / "adapter", _base(tmp_path / "g.gguf", "gemma"), tmp_path / "x.gguf")
    _adapter(tmp_path / "other", {"base_model.model.lm_head.modules_to_save.weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(LoraExportError, match="not a LoRA A/B weight"):
        export_gguf_lora(tmp_path / "other", _base(tmp_path / "l.gguf", "llama"), tmp_path / "y.gguf")
