"""InfoNCE over in-batch negatives with xling_id masking, and its GradCache variant.

For query i the candidates are every positive in the (global) batch, plus every hard
negative when the batch has them; the target is its own positive. Score = cosine / T.
Two kinds of candidate are the right answer in disguise, not negatives, and get logit
-inf (our choice, ../shared/PAPER.md): a positive j != i with the same xling_id as query
i (a translation of its answer), and any candidate whose text equals query i's positive
after normalisation (`text_codes`: several questions can share one answer sentence; in
XQuAD-R 7,400 of 13,090 questions share their same-language answer sentence).

The loss is the mean over the global batch: with several ranks, each rank returns
sum(its rows) / global rows, so that the per-rank losses (and gradients) add up to the
single-process value; mixbatch.model.distributed.sum_gradients does the adding.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from mixbatch.model import distributed as D

NO_ID = -1  # id of a hard negative: matches no query


def id_codes(xling_ids: Sequence[str]) -> torch.Tensor:
    """Stable int64 codes of xling_id strings (same on every rank and every run)."""
    codes = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") >> 1
             for s in xling_ids]
    return torch.tensor(codes, dtype=torch.int64)


def normalise_text(text: str) -> str:
    """The text as compared for identity: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_codes(texts: Sequence[str]) -> torch.Tensor:
    """Stable int64 codes of normalised texts: equal codes = the same passage."""
    return id_codes([normalise_text(t) for t in texts])


def info_nce(q: torch.Tensor, p: torch.Tensor, ids: torch.Tensor, n: torch.Tensor | None = None,
             temperature: float = 0.05, texts: torch.Tensor | None = None,
             neg_texts: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE of local rows against the candidates of all ranks.

    q, p: [b, H] unit-length query and positive embeddings of this rank's rows;
    ids: [b] int64 xling_id codes of these rows; n: optional [b, H] hard negatives;
    texts / neg_texts: optional [b] `text_codes` of the positives / negatives.
    Returns sum over local rows of -log softmax(target) / rows over all ranks.
    """
    ids = ids.to(q.device)
    offset, total = D.offset_and_total(q.shape[0], q.device)
    cand = [D.gather(p)]
    cand_ids = [D.gather(ids)]
    if n is not None:
        cand.append(D.gather(n))
        cand_ids.append(torch.full((total,), NO_ID, dtype=torch.int64, device=q.device))
    cand, cand_ids = torch.cat(cand), torch.cat(cand_ids)
    logits = q @ cand.T / temperature
    target = torch.arange(q.shape[0], device=q.device) + offset
    same = ids[:, None] == cand_ids[None, :]
    if texts is not None:
        texts = texts.to(q.device)
        cand_texts = [D.gather(texts)] + ([D.gather(neg_texts.to(q.device))] if n is not None else [])
        same |= texts[:, None] == torch.cat(cand_texts)[None, :]
    same[torch.arange(q.shape[0], device=q.device), target] = False
    logits = logits.masked_fill(same, float("-inf"))
    return F.cross_entropy(logits, target, reduction="sum") / total


Features = dict[str, torch.Tensor]


def chunk_features(features: Features, size: int, pad_multiple: int | None = None) -> list[Features]:
    """Row chunks of tokenised features, each trimmed to its own longest item (rounded up
    to a multiple of `pad_multiple`, within the padded width; see mixbatch.model.encoder)."""
    chunks = []
    for a in range(0, features["input_ids"].shape[0], size):
        mask = features["attention_mask"][a:a + size]
        width = int(mask.sum(1).max())
        if pad_multiple:
            width = min(-(-width // pad_multiple) * pad_multiple, mask.shape[1])
        chunks.append({k: v[a:a + size, :width] for k, v in features.items()})
    return chunks


def sort_by_length(features: Features) -> tuple[Features, torch.Tensor]:
    """Rows sorted by token count, and the permutation that restores the input order.

    Chunks of length-sorted rows carry little padding: on CPU most of a batch's work is
    otherwise spent on the pad tokens of its short items.
    """
    order = torch.argsort(features["attention_mask"].sum(1), stable=True)
    return {k: v[order] for k, v in features.items()}, torch.argsort(order)


def _rng_state(device: torch.device):
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def _set_rng_state(state, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


def contrastive_step(embed: Callable[[Features], torch.Tensor], sides: list[Features], ids: torch.Tensor,
                     temperature: float, chunk_size: int = 0, device: torch.device = torch.device("cpu"),
                     bucket_size: int = 0, texts: list[torch.Tensor] | None = None,
                     pad_multiple: int | None = None) -> torch.Tensor:
    """Forward + backward of one batch; returns the (local share of the) loss, detached.

    texts: optional `text_codes` of [positives] or [positives, negatives] (info_nce).
    sides: tokenised [queries, positives] or [queries, positives, negatives]. Each side is
    embedded in chunks of length-sorted rows (bucket_size rows; 0 = one forward per side).
    With chunk_size > 0 this is GradCache (Gao et al. 2021): embed every chunk without a
    graph, take the loss's gradient with respect to the embeddings, then re-embed each
    chunk with a graph (replaying its dropout RNG on `device`) and back-propagate the
    cached gradient. Memory then depends on chunk_size, not the batch size; loss and
    gradients equal the plain step's.
    """
    sorted_sides = [sort_by_length(f) for f in sides]
    texts = texts or [None, None]

    def loss_of(embs: list[torch.Tensor]) -> torch.Tensor:
        neg = embs[2] if len(embs) > 2 else None
        return info_nce(embs[0], embs[1], ids, neg, temperature, texts[0], texts[1] if len(texts) > 1 else None)

    if chunk_size <= 0:
        embs = []
        for f, restore in sorted_sides:
            parts = chunk_features(f, bucket_size or f["input_ids"].shape[0], pad_multiple)
            embs.append(torch.cat([embed(c) for c in parts])[restore.to(device)])
        loss = loss_of(embs)
        loss.backward()
        return loss.detach()

    chunks = [chunk_features(f, chunk_size, pad_multiple) for f, _ in sorted_sides]
    states, cached = [], []
    with torch.no_grad():
        for side in chunks:
            side_states, side_embs = [], []
            for c in side:
                side_states.append(_rng_state(device))
                side_embs.append(embed(c))
            states.append(side_states)
            cached.append(torch.cat(side_embs).requires_grad_())  # length-sorted rows
    after = _rng_state(device)
    embs = [emb[restore.to(device)] for emb, (_, restore) in zip(cached, sorted_sides)]
    loss = loss_of(embs)
    loss.backward()
    for side, side_states, emb in zip(chunks, states, cached):
        start = 0
        for c, state in zip(side, side_states):
            _set_rng_state(state, device)
            rows = c["input_ids"].shape[0]
            embed(c).backward(emb.grad[start:start + rows])
            start += rows
    _set_rng_state(after, device)
    return loss.detach()
