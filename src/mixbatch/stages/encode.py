"""Stage encode: embed one evaluation data set's questions and candidates with a model folder.

In:  --aligned data/aligned/<dataset>/ (tables: mixbatch.retrieval.tables), --model a
     Hugging Face encoder folder (data/models/base for the zero-shot run).
Out: --out results/embeddings/<run>/<dataset>/ holding, per side (questions, candidates):
     <side>.npy (float32 or float16, row i = row i of <side>_ids.parquet, whose rows are
     the aligned table's rows: id, lang) and meta.json. MIRACL: the questions side, plus
     the candidates side only where the hub corpus can be reached (meta.json says which).
Params: `encode` (batch_size, dtype, candidate_text, miracl_*) and `model` (pooling,
     prefixes, max lengths).
Resumable: each (side, language) is saved under <out>/.partial/ as soon as it is done and
     reused by a rerun with the same model and settings; the final files are assembled
     (atomically) at the end and the partials removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mixbatch.config import load_params
from mixbatch.data.datasets import DATASETS
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_path, write_json, write_parquet
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.retrieval.encode import encode_texts, load_encoder, settings_from_params
from mixbatch.retrieval.tables import Side, load_sides
from mixbatch.stages.common import add_params_argument, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--aligned", required=True, type=Path, help="data/aligned/<dataset>/")
    parser.add_argument("--model", required=True, type=Path, help="model folder (Hugging Face format)")
    parser.add_argument("--out", required=True, type=Path, help="results/embeddings/<run>/<dataset>/")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    add_params_argument(parser)


def fingerprint(model_dir: Path, settings: EncoderSettings, candidate_text: str) -> str:
    """What partial files must agree on to be reused: model weights (size, mtime) and settings."""
    files = sorted(p for p in Path(model_dir).iterdir() if p.is_file())
    stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    blob = json.dumps([str(Path(model_dir).resolve()), stamp, asdict(settings), candidate_text])
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


def encode_side(side: Side, name: str, encoder: Encoder, batch_size: int, partial: Path) -> np.ndarray:
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
            emb = encode_texts(encoder, texts, kind, batch_size, f"{name} {lang}")
            with atomic_path(part) as tmp, open(tmp, "wb") as f:
                np.save(f, emb, allow_pickle=False)
        else:
            log.info("%s %s: reusing %d partial rows", name, lang, len(rows))
        if out is None:
            out = np.zeros((len(side.ids), emb.shape[1]), dtype=np.float32)
        out[rows] = emb
    return out


def run(dataset: str, aligned: Path, model_dir: Path, out: Path, encode: dict, model_section: dict | None) -> dict:
    """Encode every side of `dataset`; write <side>.npy, <side>_ids.parquet, meta.json."""
    settings = settings_from_params(model_section)
    sides = load_sides(dataset, aligned, encode["candidate_text"], encode["tatoeba_languages"])
    meta = {"dataset": dataset, "model": str(model_dir), "settings": asdict(settings), "encode": encode, "sides": {}}
    if dataset == "miracl":
        from mixbatch.retrieval.miracl_corpus import load_candidates

        corpus, status = load_candidates(sorted(set(sides["questions"].lang)), encode)
        meta["corpus"] = status
        if corpus is not None:
            sides["candidates"] = corpus
        else:  # a corpus-less run must not leave an older run's passages to be scored
            for stale in ("candidates.npy", "candidates_ids.parquet"):
                (out / stale).unlink(missing_ok=True)
    encoder = load_encoder(model_dir, settings)
    partial = _partial_dir(out, fingerprint(model_dir, settings, encode["candidate_text"]))
    id_col = {"questions": "qid", "candidates": "cid"}
    for name, side in sides.items():
        start = time.perf_counter()
        emb = encode_side(side, name, encoder, encode["batch_size"], partial)
        emb = emb.astype(np.float16 if encode["dtype"] == "float16" else np.float32)
        with atomic_path(out / f"{name}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, emb, allow_pickle=False)
        write_parquet(out / f"{name}_ids.parquet", side.id_table(id_col[name]))
        seconds = time.perf_counter() - start
        meta["sides"][name] = {"rows": len(side.ids), "dim": int(emb.shape[1]), "dtype": str(emb.dtype), "seconds": round(seconds, 2)}
        log.info("%s %s: %d rows in %.1f s", dataset, name, len(side.ids), seconds)
    write_json(out / "meta.json", meta)
    shutil.rmtree(partial)
    return meta


def main(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    if "encode" not in params:
        raise MixbatchError(f"{args.params}: no `encode` section in the schema")
    set_seeds(params["seed"])
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    run(args.dataset, args.aligned, args.model, args.out, params["encode"], params.get("model"))
