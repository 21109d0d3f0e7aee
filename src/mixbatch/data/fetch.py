"""Fetch one file: from a local mirror folder first, else over HTTP; verify sha256.

A file lands at its destination only after its checksum matched (temp name, then rename),
so a failed or interrupted fetch never leaves a partial file behind. A destination that
already holds the right bytes is left alone, which makes a rerun a no-op.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import requests
from tqdm import tqdm

from mixbatch.data.manifest import RemoteFile
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_path, sha256_file

log = logging.getLogger(__name__)

MIRROR_ENV = "MIXBATCH_MIRROR"
BACKOFF_BASE_S = 1.0  # wait 1, 2, 4, ... s between HTTP attempts (capped at 30 s)


def resolve_mirrors(configured: list[str], root: Path = Path(".")) -> list[Path]:
    """Mirror folders in lookup order: $MIXBATCH_MIRROR entries first, then params."""
    from_env = [p for p in os.environ.get(MIRROR_ENV, "").split(os.pathsep) if p]
    return [(root / p).resolve() if not os.path.isabs(p) else Path(p) for p in from_env + list(configured)]


def _how_to_fix(remote: RemoteFile) -> str:
    return (
        f"To provide it offline, put the file at <mirror>/{remote.mirror_relpath} and list "
        f"<mirror> in params data.mirrors or in ${MIRROR_ENV} (':'-separated)."
    )


def _download(url: str, dest: Path, timeout: float, retries: int) -> None:
    """Stream `url` into `dest`, retrying connection errors and 5xx with backoff."""
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        try:
            with requests.get(url, stream=True, timeout=timeout) as resp:
                resp.raise_for_status()
                total = int(resp.headers.get("content-length", 0)) or None
                with open(dest, "wb") as f, tqdm(
                    total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], leave=False
                ) as bar:
                    for chunk in resp.iter_content(chunk_size=1 << 16):
                        f.write(chunk)
                        bar.update(len(chunk))
            return
        except requests.HTTPError as e:
            last_error = e
            if e.response is not None and e.response.status_code < 500:
                break  # 404 and friends will not change on retry
        except requests.RequestException as e:
            last_error = e
        if attempt < retries:
            time.sleep(min(BACKOFF_BASE_S * 2**attempt, 30))
    raise OSError(f"{type(last_error).__name__}: {last_error}")


def fetch(remote: RemoteFile, dest: Path, mirrors: list[Path], timeout: float = 60, retries: int = 3) -> str:
    """Place `remote` at `dest`, verified. Returns where it came from ("present", a mirror, or the URL)."""
    if dest.exists() and sha256_file(dest) == remote.sha256:
        return "present"
    attempts: list[str] = []
    for mirror in mirrors:
        candidate = mirror / remote.mirror_relpath
        if not candidate.is_file():
            attempts.append(f"{candidate}: not found")
            continue
        got = sha256_file(candidate)
        if got != remote.sha256:
            attempts.append(f"{candidate}: sha256 {got} != expected {remote.sha256}")
            continue
        with atomic_path(dest) as tmp:
            shutil.copyfile(candidate, tmp)  # copy, not link: mirrors are read-only and shared
        return str(mirror)
    with atomic_path(dest) as tmp:
        try:
            _download(remote.url, tmp, timeout, retries)
        except OSError as e:
            attempts.append(f"{remote.url}: {e}")
            raise _fetch_error(remote, attempts) from None
        got = sha256_file(tmp)
        if got != remote.sha256:
            attempts.append(f"{remote.url}: sha256 {got} != expected {remote.sha256}")
            raise _fetch_error(remote, attempts)
    return remote.url


def _fetch_error(remote: RemoteFile, attempts: list[str]) -> MixbatchError:
    tried = "\n".join(f"  - {a}" for a in attempts)
    return MixbatchError(
        f"could not fetch {remote.url} (data set {remote.dataset}); tried:\n{tried}\n{_how_to_fix(remote)}"
    )
