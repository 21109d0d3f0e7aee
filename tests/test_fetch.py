"""Fetching: mirror lookup, HTTP fallback (a real server on loopback), sha256, errors, no partial files."""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import threading
from pathlib import Path

import pytest

from mixbatch.data import manifest as manifest_mod
from mixbatch.data.fetch import fetch, resolve_mirrors
from mixbatch.data.manifest import RemoteFile, dataset_files, load_manifest
from mixbatch.errors import MixbatchError

CONTENT = b'{"data": []}\n'


def _remote(content: bytes = CONTENT) -> RemoteFile:
    return RemoteFile("xquad-r", "owner/repo", "c0ffee", "xquad-r/en.json", hashlib.sha256(content).hexdigest())


def _mirror(root: Path, remote: RemoteFile, content: bytes = CONTENT) -> Path:
    path = root / remote.mirror_relpath
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    return root


class _Server:
    """A loopback HTTP server whose handler answers from `routes` (path -> list of (status, body))."""

    def __init__(self):
        self.routes: dict[str, list[tuple[int, bytes]]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                answers = server.routes.get(self.path, [(404, b"not found")])
                status, body = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server(monkeypatch):
    s = _Server()
    monkeypatch.setattr(manifest_mod, "RAW_URL", s.base + "/{source}/{commit}/{path}")
    yield s
    s.httpd.shutdown()


def test_manifest_covers_every_dataset_with_sha256():
    manifest = load_manifest()
    assert set(manifest) == {"xquad-r", "mlqa-r", "tatoeba", "miracl"}
    assert len(manifest["tatoeba"]) == 224 and len(manifest["miracl"]) == 36
    assert all(len(f.sha256) == 64 for files in manifest.values() for f in files)
    en = next(f for f in manifest["xquad-r"] if f.filename == "en.json")
    assert en.url == ("https://raw.githubusercontent.com/google-research-datasets/lareqa/"
                      "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c/xquad-r/en.json")


def test_unknown_dataset():
    with pytest.raises(MixbatchError, match="unknown data set 'xquad'; the manifest has: xquad-r"):
        dataset_files("xquad")


def test_mirror_hit_from_read_only_mirror(tmp_path):
    remote = _remote()
    mirror = _mirror(tmp_path / "mirror", remote)
    for p in [*mirror.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    dest = tmp_path / "out" / "en.json"
    assert fetch(remote, dest, [tmp_path / "absent", mirror]) == str(mirror)
    assert dest.read_bytes() == CONTENT
    assert fetch(remote, dest, [mirror]) == "present"  # second run: no-op


def test_corrupt_mirror_falls_back_to_http(tmp_path, server):
    remote = _remote()
    mirror = _mirror(tmp_path / "mirror", remote, b"corrupt")
    server.routes[f"/{remote.mirror_relpath}"] = [(200, CONTENT)]
    dest = tmp_path / "en.json"
    assert fetch(remote, dest, [mirror], timeout=5, retries=0).startswith(server.base)
    assert dest.read_bytes() == CONTENT


def test_http_retries_server_errors(tmp_path, server, monkeypatch):
    monkeypatch.setattr("mixbatch.data.fetch.BACKOFF_BASE_S", 0.01)
    remote = _remote()
    server.routes[f"/{remote.mirror_relpath}"] = [(503, b""), (500, b""), (200, CONTENT)]
    dest = tmp_path / "en.json"
    fetch(remote, dest, [], timeout=5, retries=2)
    assert dest.read_bytes() == CONTENT and len(server.hits) == 3


def test_unreachable_file_is_a_clear_error_and_leaves_nothing(tmp_path, server):
    remote = _remote()
    dest = tmp_path / "out" / "en.json"
    with pytest.raises(MixbatchError) as err:
        fetch(remote, dest, [tmp_path / "mirror"], timeout=5, retries=0)
    msg = str(err.value)
    assert remote.url in msg  # which URL
    assert str(tmp_path / "mirror" / remote.mirror_relpath) + ": not found" in msg  # where it looked
    assert "HTTPError" in msg and "404" in msg
    assert "data.mirrors" in msg and "MIXBATCH_MIRROR" in msg  # how to provide one
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_checksum_mismatch_over_http_leaves_nothing(tmp_path, server):
    remote = _remote()
    server.routes[f"/{remote.mirror_relpath}"] = [(200, b"tampered")]
    with pytest.raises(MixbatchError, match=r"sha256 [0-9a-f]{64} != expected " + remote.sha256):
        fetch(remote, tmp_path / "en.json", [], timeout=5, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    import mixbatch.data.fetch as fetch_mod

    def dies_midway(url, dest, timeout, retries):
        Path(dest).write_bytes(b"half a fi")
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch_mod, "_download", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        fetch(_remote(), tmp_path / "en.json", [])
    assert list(tmp_path.iterdir()) == []


def test_env_mirrors_come_first(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXBATCH_MIRROR", f"{tmp_path}/a{os.pathsep}{tmp_path}/b")
    assert resolve_mirrors(["rel/c"], root=tmp_path) == [tmp_path / "a", tmp_path / "b", tmp_path / "rel" / "c"]
