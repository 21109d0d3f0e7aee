"""Stage download: fetch every file one data set needs into a folder, sha256-verified.

In:  the manifest (mixbatch/data/manifest.yaml); params section `data` (mirrors,
     http_timeout_s, http_retries). mMARCO: its Hugging Face hub files (params `mmarco`:
     languages, translation; `data.hub_timeout_s`), laid out as in the hub repository.
Out: <out>/<file name> for each manifest file, and <out>/download.json recording each
     file's URL and sha256 (written last: its presence means done). Where each file came
     from (a mirror, the network, already present) goes to the log, not the output, so a
     rebuild gives byte-identical files.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from mixbatch.data.datasets import SOURCES
from mixbatch.data.fetch import fetch, resolve_mirrors
from mixbatch.data.manifest import dataset_files
from mixbatch.io import write_json
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)
RECORD_NAME = "download.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=SOURCES)
    parser.add_argument("--out", required=True, type=Path, help="folder to fill, e.g. data/raw/xquad-r")
    add_params_argument(parser)


def run(dataset: str, out: Path, mirrors: list[Path], timeout: float, retries: int) -> dict:
    files = dataset_files(dataset)
    out.mkdir(parents=True, exist_ok=True)
    record = {"dataset": dataset, "files": []}
    for remote in tqdm(files, desc=f"download {dataset}", unit="file"):
        origin = fetch(remote, out / remote.filename, mirrors, timeout, retries)
        log.info("%s: from %s", remote.filename, origin)
        record["files"].append({"name": remote.filename, "url": remote.url, "sha256": remote.sha256})
    write_json(out / RECORD_NAME, record)
    log.info("%s: %d files verified in %s", dataset, len(files), out)
    return record


def run_mmarco(out: Path, mmarco: dict, timeout: float) -> dict:
    from mixbatch.data.mmarco import MMARCO_REPO, MMARCO_REVISION, fetch_mmarco

    files = fetch_mmarco(out, mmarco["languages"], mmarco["translation"], timeout_s=timeout)
    record = {"dataset": "mmarco", "repo": MMARCO_REPO, "revision": MMARCO_REVISION,
              "files": [str(f.relative_to(out)) for f in files]}
    write_json(out / RECORD_NAME, record)
    return record


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "data", "mmarco")
    data = params["data"]
    if args.dataset == "mmarco":
        run_mmarco(args.out, params["mmarco"], data["hub_timeout_s"])
        return
    run(args.dataset, args.out, resolve_mirrors(data["mirrors"]), data["http_timeout_s"], data["http_retries"])
