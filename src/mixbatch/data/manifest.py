"""The download manifest (manifest.yaml beside this file): every file a data set needs.

Each data set names a GitHub `source` repository, a pinned `commit` and its `files`
(path in the repository -> sha256). A file's URL is the raw GitHub URL at that commit;
a mirror folder holds it at <mirror>/<source>/<commit>/<path>.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from mixbatch.errors import MixbatchError

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")
RAW_URL = "https://raw.githubusercontent.com/{source}/{commit}/{path}"


@dataclass(frozen=True)
class RemoteFile:
    dataset: str
    source: str  # owner/repo
    commit: str
    path: str  # path inside the repository
    sha256: str

    @property
    def url(self) -> str:
        return RAW_URL.format(source=self.source, commit=self.commit, path=self.path)

    @property
    def mirror_relpath(self) -> PurePosixPath:
        """Where a mirror folder holds this file (the URL's path after the host)."""
        return PurePosixPath(self.source, self.commit, self.path)

    @property
    def filename(self) -> str:
        """The name it gets under data/raw/<dataset>/ (unique within a data set)."""
        return PurePosixPath(self.path).name


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, list[RemoteFile]]:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    manifest = {}
    for dataset, entry in raw.items():
        files = [
            RemoteFile(dataset, entry["source"], entry["commit"], file_path, sha)
            for file_path, sha in entry["files"].items()
        ]
        names = [f.filename for f in files]
        if len(set(names)) != len(names):
            raise MixbatchError(f"{path}: data set {dataset!r} has two files with the same name")
        manifest[dataset] = files
    return manifest


def dataset_files(dataset: str, path: Path = MANIFEST_PATH) -> list[RemoteFile]:
    manifest = load_manifest(path)
    if dataset not in manifest:
        raise MixbatchError(f"unknown data set {dataset!r}; the manifest has: {', '.join(manifest)}")
    return manifest[dataset]
