"""Model files: the embedded catalogue, local GGUF paths and hub downloads.

Example:
    >>> from mistakelab.models import list_models
    >>> sorted(m.name for m in list_models())
    ['qwen2.5-coder-0.5b', 'qwen2.5-coder-1.5b', 'smollm2-135m']
"""

from __future__ import annotations

from pathlib import Path

from mistakelab.models.embedded import (
    CATALOGUE,
    DEFAULT_MODEL,
    EmbeddedModel,
    ModelCorruptError,
    ModelError,
    ModelInfo,
    ModelNotFoundError,
    ModelNotInstalledError,
    PackagePart,
    cache_dir,
    file_sha256,
    gguf_name,
    list_models,
    prepare_model,
)
from mistakelab.models.gguf import GGUFError, read_file_metadata
from mistakelab.models.hub import HubError, HubFile, download, parse_hf_uri, resolve_hf_uri


def resolve_model(name_or_path: str | Path) -> Path:
    """Local GGUF path for an embedded model name, a ``.gguf`` path or an ``hf://`` address.

    Embedded models are assembled and verified on first use; hub files are downloaded.

    Example:
        >>> resolve_model("smollm2-135m").name  # doctest: +SKIP
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    text = str(name_or_path)
    if text.startswith("hf://"):
        return resolve_hf_uri(text)
    if text in CATALOGUE:
        return prepare_model(text)
    check_model_name(text)
    path = Path(text).expanduser()
    gguf_name(path)  # raises a clear error when it is not a GGUF file
    return path.resolve()


def check_model_name(name_or_path: str | Path) -> None:
    """Raise :class:`ModelNotFoundError` unless ``name_or_path`` can name a model, without
    assembling, downloading or loading anything.

    Example:
        >>> check_model_name("no-such-model")
        Traceback (most recent call last):
        ...
        mistakelab.models.embedded.ModelNotFoundError: unknown model 'no-such-model': ...
    """
    text = str(name_or_path)
    if text.startswith("hf://"):
        parse_hf_uri(text)
        return
    if text in CATALOGUE or Path(text).expanduser().is_file():
        return
    raise ModelNotFoundError(
        f"unknown model {text!r}: not an embedded model ({', '.join(CATALOGUE)}), "
        "not an existing .gguf file, and not an hf://<owner>/<repo>/<file.gguf> address"
    )


def model_label(name_or_path: str | Path) -> str:
    """Short name for ids and tables: the embedded name, or the file stem."""
    text = str(name_or_path)
    if text in CATALOGUE:
        return text
    return Path(text.split("@", 1)[0]).stem


__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "EmbeddedModel",
    "GGUFError",
    "HubError",
    "HubFile",
    "ModelCorruptError",
    "ModelError",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelNotInstalledError",
    "PackagePart",
    "cache_dir",
    "check_model_name",
    "download",
    "file_sha256",
    "gguf_name",
    "list_models",
    "model_label",
    "parse_hf_uri",
    "prepare_model",
    "read_file_metadata",
    "resolve_hf_uri",
    "resolve_model",
]
