"""Stage encode: embed one evaluation set's questions and candidates with a model folder.

In:  --aligned data/aligned/<dataset>/ (tables: mixbatch.retrieval.tables), --model a
     Hugging Face encoder folder (data/models/base for the zero-shot run).
Out: --out results/embeddings/<run>/<dataset>/ holding, per side (questions, candidates):
     <side>.npy (float32, or float16 with encode.dtype; row i = row i of
     <side>_ids.parquet, whose rows are the aligned table's rows: id, lang) and meta.json
     (settings, precision and why; no timings, which go to the log). MIRACL: the questions
     side, plus the candidates side only where the hub corpus can be reached.
Params: `encode` (precision, batch_size, dtype, candidate_text, tatoeba_languages,
     miracl_*), `model` (pooling, prefixes, max lengths), `data.hub_timeout_s`.
Threads: --threads (0: encode.threads, else all cores); on CPU as many batches at a time,
     one core each (mixbatch.retrieval.encode).
Resumable: each (side, language) is saved under <out>/.partial/ as soon as it is done and
     reused by a rerun with the same model bytes and settings; the final files are
     assembled (atomically) at the end and the partials removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from mixbatch.data.datasets import EVALUATIONS
from mixbatch.io import atomic_path, sha256_file, write_json, write_parquet
from mixbatch.model import precision as P
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.retrieval.encode import encode_texts, load_encoder
from mixbatch.retrieval.tables import Side, load_sides
from mixbatch.stages.common import add_params_argument, add_threads_argument, load_section, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=EVALUATIONS)
    parser.add_argument("--aligned", required=True, type=Path, help="data/aligned/<dataset>/")
    parser.add_argument("--model", required=True, type=Path, help="model folder (Hugging Face format)")
    parser.add_argument("--out", required=True, type=Path, help="results/embeddings/<run>/<dataset>/")
    add_threads_argument(parser)
    add_params_argument(parser)


def fingerprint(model_dir: Path, settings: EncoderSettings, encode: dict, compute: dict) -> str:
    """What partial files must agree on to be reused: the model's bytes, the settings, the
    precision and thread layout (they change the last bits of the vectors)."""
    files = {p.name: sha256_file(p) for p in sorted(Path(model_dir).iterdir()) if p.is_file()}
    blob = json.dumps([files, asdict(settings), encode["candidate_text"], encode["tatoeba_languages"], compute],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _partial_dir(out: Path, stamp: str) -> Path:
    partial = out / ".partial"
    marker = partial / "fingerprint.txt"
    if partial.exists() and (not marker.exists() or marker.read_text().strip() != stamp):
        log.info("discarding partial embeddings from another model or settings in %s", partial)
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    marker.write_text(stamp + "\n")
    return partial


def encode_side(side: Side, name: str, encoder: Encoder, batch_size: int, partial: Path, workers: int) -> np.ndarray:
    """Encode one side language by language (saving each), return rows in table order."""
    langs = np.asarray(side.lang)
    out = None
    for lang in dict.fromkeys(side.lang):  # table order of first appearance
        rows = np.flatnonzero(langs == lang)
        part = partial / f"{name}.{lang}.npy"
        emb = np.load(part) if part.exists() else None
        if emb is None or len(emb) != len(rows):
            texts = [side.texts[i] for i in rows]
            kind = "query" if side.is_query else "passage"
            emb = encode_texts(encoder, texts, kind, batch_size, f"{name} {lang}", workers)
            with atomic_path(part) as tmp, open(tmp, "wb") as f:
                np.save(f, emb, allow_pickle=False)
        else:
            log.info("%s %s: reusing %d partial rows", name, lang, len(rows))
        if out is None:
            out = np.zeros((len(side.ids), emb.shape[1]), dtype=np.float32)
        out[rows] = emb
    return out


def compute_layout(threads: int, device: torch.device) -> dict:
    """How the work is spread: on CPU one intra-op thread per worker, one worker per core."""
    threads = threads or os.cpu_count() or 1
    if device.type != "cpu":
        return {"device": device.type, "workers": 1, "torch_threads": torch.get_num_threads()}
    return {"device": "cpu", "workers": threads, "torch_threads": 1}


def run(dataset: str, aligned: Path, model_dir: Path, out: Path, encode: dict, model_section: dict,
        hub_timeout_s: float, threads: int = 0) -> dict:
    """Encode every side of `dataset`; write <side>.npy, <side>_ids.parquet, meta.json."""
    settings = EncoderSettings.from_params(model_section)
    sides = load_sides(dataset, aligned, encode["candidate_text"], encode["tatoeba_languages"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    precision = P.resolve(encode["precision"], device)
    layout = compute_layout(threads, device)
    torch.set_num_threads(layout["torch_threads"])
    log.info("precision %s (%s); %d workers x %d threads", precision.name, precision.reason,
             layout["workers"], layout["torch_threads"])
    settings_meta = {k: encode[k] for k in ("batch_size", "dtype", "candidate_text", "tatoeba_languages")}
    meta = {"dataset": dataset, "model": str(model_dir), "settings": asdict(settings), "encode": settings_meta,
            **precision.as_dict(), "sides": {}}
    if dataset == "miracl":
        from mixbatch.retrieval.miracl_corpus import load_candidates

        corpus, status = load_candidates(sorted(set(sides["questions"].lang)), encode, hub_timeout_s)
        meta["corpus"] = status
        if corpus is not None:
            sides["candidates"] = corpus
        else:  # a corpus-less run must not leave an older run's passages to be scored
            for stale in ("candidates.npy", "candidates_ids.parquet"):
                (out / stale).unlink(missing_ok=True)
    encoder = load_encoder(model_dir, settings, precision.dtype).to(device)
    partial = _partial_dir(out, fingerprint(model_dir, settings, encode, {**layout, **precision.as_dict()}))
    id_col = {"questions": "qid", "candidates": "cid"}
    for name, side in sides.items():
        start = time.perf_counter()
        emb = encode_side(side, name, encoder, encode["batch_size"], partial, layout["workers"])
        emb = emb.astype(np.float16 if encode["dtype"] == "float16" else np.float32)
        with atomic_path(out / f"{name}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, emb, allow_pickle=False)
        write_parquet(out / f"{name}_ids.parquet", side.id_table(id_col[name]))
        meta["sides"][name] = {"rows": len(side.ids), "dim": int(emb.shape[1]), "dtype": str(emb.dtype)}
        seconds = time.perf_counter() - start
        log.info("%s %s: %d rows in %.1f s (%.0f texts/s)", dataset, name, len(side.ids), seconds,
                 len(side.ids) / max(seconds, 1e-9))
    write_json(out / "meta.json", meta)
    shutil.rmtree(partial)
    return meta


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "encode", "model", "data")
    set_seeds(params["seed"])
    encode = params["encode"]
    run(args.dataset, args.aligned, args.model, args.out, encode, params["model"], params["data"]["hub_timeout_s"],
        args.threads or encode["threads"])
