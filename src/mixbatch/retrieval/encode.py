"""Encode texts with a Hugging Face encoder folder into L2-normalised embeddings.

The model settings come from params.yaml's `model` section: pooling (mean | cls),
query_prefix / passage_prefix, query_max_length / passage_max_length. Loading, settings
and pooling are mixbatch.model.encoder's, so training and evaluation embed the same way;
what this module adds is the bulk loop for evaluation sets.

Speed: texts are tokenised once, sorted by token length (longest first, so an
out-of-memory batch shows at once), batched and padded only to the batch's longest
item, and run under torch.inference_mode. Rows come back in the input order.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mixbatch.model.encoder import Encoder, EncoderSettings, pool

log = logging.getLogger(__name__)


def settings_from_params(model_section: dict | None) -> EncoderSettings:
    """Encoder settings from params.yaml's `model` section (schema defaults when absent)."""
    return EncoderSettings.from_params(model_section or {})


def load_encoder(model_dir: Path, settings: EncoderSettings):
    """(tokenizer, transformer in eval mode) from a model folder, via the training side's loader."""
    encoder = Encoder.load(model_dir, settings)
    encoder.model.eval()
    return encoder.tokenizer, encoder.model


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length, longest batch first."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def encode_texts(
    tokenizer,
    model,
    texts: list[str],
    prefix: str,
    max_length: int,
    pooling: str,
    batch_size: int = 32,
    desc: str = "encode",
) -> np.ndarray:
    """Embed texts (with prefix) as an (n, H) float32 array of unit vectors, input order."""
    if not texts:
        return np.zeros((0, model.config.hidden_size), dtype=np.float32)
    enc = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)
    input_ids = enc["input_ids"]
    lengths = np.array([len(ids) for ids in input_ids])
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode(), tqdm(total=len(texts), desc=desc, unit="text", leave=False) as bar:
        for rows in length_sorted_batches(lengths, batch_size):
            batch = tokenizer.pad({"input_ids": [input_ids[i] for i in rows]}, return_tensors="pt")
            hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            emb = torch.nn.functional.normalize(pool(hidden, batch["attention_mask"], pooling), dim=-1)
            out[rows] = emb.float().numpy()
            bar.update(len(rows))
    return out
