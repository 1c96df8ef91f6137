"""Download single GGUF files from a Hugging Face-compatible hub into the cache.

URL scheme: ``{endpoint}/{repo_id}/resolve/{revision}/{filename}``; the endpoint comes from
``HF_ENDPOINT`` (default https://huggingface.co) and a token from ``HF_TOKEN`` (sent as a
bearer header, never written anywhere, and dropped on redirects to another host).
``HF_HUB_OFFLINE=1`` forbids downloads (an already cached file is still returned).

Files land in ``<cache>/hub/<owner>--<repo>/<revision>/<filename>``: streamed to a temp file,
hashed on the way, checked against an optional sha256 and renamed atomically.

Example:
    >>> parse_hf_uri("hf://Qwen/Qwen2.5-0.5B-GGUF/sub/model-q4_0.gguf@v1")
    HubFile(repo_id='Qwen/Qwen2.5-0.5B-GGUF', filename='sub/model-q4_0.gguf', revision='v1')
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mistakelab.models.embedded import ModelError, cache_dir, known_sha256, remember_sha256

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
_CHUNK = 1 << 20


class HubError(ModelError):
    """A hub download failed (not found, refused, offline, checksum mismatch)."""


@dataclass(frozen=True)
class HubFile:
    """One file of a hub repository at a revision."""

    repo_id: str
    filename: str
    revision: str = "main"


def parse_hf_uri(uri: str) -> HubFile:
    """Parse ``hf://<owner>/<repo>/<path/to/file.gguf>[@revision]``."""
    if not uri.startswith("hf://"):
        raise HubError(f"not an hf:// address: {uri!r}")
    rest, revision = uri[len("hf://"):], "main"
    if "@" in rest:
        rest, revision = rest.rsplit("@", 1)
    parts = [p for p in rest.split("/") if p]
    if len(parts) < 3 or not revision or ".." in parts:
        raise HubError(f"expected hf://<owner>/<repo>/<file.gguf>[@revision], got {uri!r}")
    return HubFile("/".join(parts[:2]), "/".join(parts[2:]), revision)


def hub_cache_path(ref: HubFile) -> Path:
    repo = ref.repo_id.replace("/", "--")
    rev = ref.revision.replace("/", "--")
    return cache_dir() / "hub" / repo / rev / ref.filename


class _DropAuthOnRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects but never carry the token to a different host (e.g. a CDN)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        host = urllib.parse.urlsplit(req.full_url).netloc
        if new is not None and urllib.parse.urlsplit(newurl).netloc != host:
            new.remove_header("Authorization")
        return new


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def download(
    ref: HubFile,
    *,
    sha256: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``ref`` into the cache (or return the cached copy) and return its path.

    Example:
        >>> download(HubFile("org/repo-GGUF", "model-q4_0.gguf"))  # doctest: +SKIP
        PosixPath('.../hub/org--repo-GGUF/main/model-q4_0.gguf')
    """
    target = hub_cache_path(ref)
    if target.is_file():
        if sha256 is None or known_sha256(target) == sha256:
            return target
    if _offline():
        raise HubError(f"HF_HUB_OFFLINE=1: refusing to download {ref.repo_id}/{ref.filename}")
    base = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    url = (f"{base}/{ref.repo_id}/resolve/{urllib.parse.quote(ref.revision, safe='')}/"
           f"{urllib.parse.quote(ref.filename)}")
    headers = {"User-Agent": "mistakelab"}
    token = token if token is not None else os.environ.get("HF_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    opener = urllib.request.build_opener(_DropAuthOnRedirect())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    log.info("downloading %s", url)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
            with open(tmp, "wb") as out:
                while chunk := resp.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise HubError(f"{url}: sha256 {got} does not match the expected {sha256}")
        os.replace(tmp, target)
    except urllib.error.HTTPError as exc:
        hint = {401: " (set HF_TOKEN for gated/private repos)", 403: " (set HF_TOKEN?)",
                404: " (check the repo, file name and revision)"}.get(exc.code, "")
        raise HubError(f"download failed: HTTP {exc.code} for {url}{hint}") from None
    except urllib.error.URLError as exc:
        raise HubError(f"download failed for {url}: {exc.reason}") from None
    finally:
        tmp.unlink(missing_ok=True)
    remember_sha256(target, got)
    return target


def resolve_hf_uri(uri: str, sha256: str | None = None) -> Path:
    """Local path of an ``hf://`` model address, downloading it on first use."""
    return download(parse_hf_uri(uri), sha256=sha256)
