"""Encode texts with a Hugging Face encoder folder into L2-normalised embeddings.

The model settings come from params.yaml's `model` section: pooling (mean | cls),
query_prefix / passage_prefix, query_max_length / passage_max_length. Loading, settings
and pooling are mixbatch.model.encoder's, so training and evaluation embed the same way;
what this module adds is the bulk loop for evaluation sets.

Speed: texts are tokenised once, sorted by token length (longest first, so an
out-of-memory batch shows at once), batched and padded only to the batch's longest
item, and run under torch.inference_mode. On CPU, `workers` threads each encode whole
batches with one intra-op thread: the small matmuls of one batch use two cores poorly,
two batches at once use them well (measured 1.7x on 2 cores). Each batch is computed
by one thread the same way whichever worker takes it, so the result does not depend on
the scheduling. Rows come back in the input order.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mixbatch.model.encoder import Encoder, EncoderSettings

log = logging.getLogger(__name__)


def settings_from_params(model_section: dict | None) -> EncoderSettings:
    """Encoder settings from params.yaml's `model` section (schema defaults when absent)."""
    return EncoderSettings.from_params(model_section or {})


def load_encoder(model_dir: Path, settings: EncoderSettings, dtype: torch.dtype = torch.float32) -> Encoder:
    """The training side's Encoder (pooling, normalisation, prefixes), in eval mode, its
    weights in `dtype` (bf16: mixbatch.model.precision; the output stays float32)."""
    encoder = Encoder.load(model_dir, settings)
    encoder.model.to(dtype).eval()
    return encoder


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length, longest batch first."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def encode_texts(encoder: Encoder, texts: list[str], side: str, batch_size: int = 32, desc: str = "encode",
                 workers: int = 1) -> np.ndarray:
    """Embed texts as queries or passages (side), an (n, H) float32 array of unit vectors in
    input order. Tokenised once; each length-sorted batch is padded to its own longest;
    `workers` batches at a time (see the module docstring)."""
    hidden_size = encoder.model.config.hidden_size
    if not texts:
        return np.zeros((0, hidden_size), dtype=np.float32)
    prefix, max_length = encoder.side_settings(side)
    tokenizer = encoder.tokenizer
    input_ids = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)["input_ids"]
    lengths = np.array([len(ids) for ids in input_ids])
    out = np.zeros((len(texts), hidden_size), dtype=np.float32)

    def encode_batch(rows: np.ndarray) -> int:
        batch = tokenizer.pad({"input_ids": [input_ids[i] for i in rows]}, return_tensors="pt")
        with torch.inference_mode():  # thread-local: entered in the worker
            emb = encoder.embed({"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]})
        out[rows] = emb.float().cpu().numpy()
        return len(rows)

    batches = length_sorted_batches(lengths, batch_size)
    with tqdm(total=len(texts), desc=desc, unit="text", leave=False) as bar:
        if workers <= 1:
            for rows in batches:
                bar.update(encode_batch(rows))
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for n in pool.map(encode_batch, batches):
                    bar.update(n)
    return out
