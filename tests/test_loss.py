"""InfoNCE on hand-computed cases, xling_id masking, and GradCache == plain loss and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.model.loss import chunk_features, contrastive_step, id_codes, info_nce, sort_by_length

T = 0.05


def unit(*rows):
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float64), dim=-1)


def hand_loss(q, cands, targets, masked=()):
    """-log softmax by hand: python floats, one row at a time."""
    total = 0.0
    for i, t in enumerate(targets):
        logits = [sum(a * b for a, b in zip(q[i].tolist(), c.tolist())) / T for c in cands]
        keep = [j for j in range(len(cands)) if (i, j) not in masked]
        total += -logits[t] + math.log(sum(math.exp(logits[j]) for j in keep))
    return total / len(targets)


def test_info_nce_3x3_by_hand():
    q = unit([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    p = unit([1.0, 0.2], [0.3, 1.0], [1.0, -1.0])
    ids = id_codes(["a", "b", "c"])
    got = info_nce(q, p, ids, temperature=T)
    # row 0 in full: logits 20*cos(q0, p_j)
    c = [1 / math.sqrt(1.04), 0.3 / math.sqrt(1.09), 1 / math.sqrt(2)]
    row0 = -c[0] / T + math.log(sum(math.exp(x / T) for x in c))
    assert hand_loss(q, p, [0, 1, 2]) == pytest.approx(float(got), rel=1e-12)
    assert row0 == pytest.approx(hand_loss(q[:1], p, [0]), rel=1e-12)


def test_same_xling_id_is_masked_not_a_negative():
    q = unit([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    p = unit([1.0, 0.2], [0.3, 1.0], [0.9, 0.1])
    # rows 0 and 2 are translations of one item: each must not count the other's positive
    got = info_nce(q, p, id_codes(["x", "b", "x"]), temperature=T)
    assert float(got) == pytest.approx(hand_loss(q, p, [0, 1, 2], masked={(0, 2), (2, 0)}), rel=1e-12)
    unmasked = info_nce(q, p, id_codes(["x", "b", "y"]), temperature=T)
    assert float(unmasked) > float(got)
    # the -inf logits stay out of the gradient: everything stays finite
    p_leaf = p.clone().requires_grad_()
    q_leaf = q.clone().requires_grad_()
    single = info_nce(q_leaf, p_leaf, id_codes(["x", "b", "x"]), temperature=T)
    single.backward()
    assert torch.isfinite(single) and torch.isfinite(p_leaf.grad).all()


def test_hard_negatives_join_every_row_and_are_never_masked():
    q = unit([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    p = unit([1.0, 0.2], [0.3, 1.0], [1.0, -1.0])
    n = unit([0.8, 0.6], [0.6, 0.8], [0.0, -1.0])
    got = info_nce(q, p, id_codes(["a", "b", "a"]), n, temperature=T)
    cands = torch.cat([p, n])
    assert float(got) == pytest.approx(hand_loss(q, cands, [0, 1, 2], masked={(0, 2), (2, 0)}), rel=1e-12)


def test_id_codes_are_stable_and_nonnegative():
    a = id_codes(["mlqa:1", "mlqa:2", "mlqa:1"])
    assert a[0] == a[2] and a[0] != a[1] and bool((a >= 0).all())
    assert torch.equal(a, id_codes(["mlqa:1", "mlqa:2", "mlqa:1"]))


def test_sort_by_length_and_restore():
    f = {"input_ids": torch.tensor([[5, 6, 7], [5, 0, 0], [5, 6, 0]]),
         "attention_mask": torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]])}
    sorted_f, restore = sort_by_length(f)
    assert sorted_f["attention_mask"].sum(1).tolist() == [1, 2, 3]
    assert torch.equal(sorted_f["input_ids"][restore], f["input_ids"])


def test_chunk_features_trims_padding_per_chunk():
    f = {"input_ids": torch.tensor([[5, 6, 0, 0], [5, 6, 7, 8], [5, 0, 0, 0]]),
         "attention_mask": torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])}
    chunks = chunk_features(f, 2)
    assert [c["input_ids"].shape for c in chunks] == [(2, 4), (1, 1)]


def _grads(encoder):
    return {n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None}


def _batch(enc, with_negatives):
    queries = ["Where is the port?", "Wo ist der Hafen?", "肯尼亚最大的港口在哪里？", "Kenya'nın limanı nerede?", "Cảng ở đâu?"]
    passages = ["The port of Mombasa is the largest in Kenya.", "Hafen", "港口", "Liman burada.", "Cảng lớn nhất Kenya."]
    sides = [enc.tokenize(queries, "query"), enc.tokenize(passages, "passage")]
    if with_negatives:
        sides.append(enc.tokenize(list(reversed(passages)), "passage"))
    return sides, id_codes(["a", "b", "c", "a", "d"])


def _assert_same(a, b):
    (l0, g0), (l1, g1) = a, b
    assert torch.allclose(l0, l1, rtol=0, atol=1e-12)
    assert g0.keys() == g1.keys() and len(g0) > 10
    for name in g0:
        assert torch.allclose(g0[name], g1[name], rtol=1e-9, atol=1e-12), name


@pytest.mark.parametrize("with_negatives", [False, True])
def test_grad_cache_equals_plain_loss_and_gradients(tiny_model_dir, with_negatives):
    enc = Encoder.load(tiny_model_dir, EncoderSettings(query_max_length=16, passage_max_length=24))
    enc.double().eval()  # no dropout: one batch, one loss, whatever the chunking
    sides, ids = _batch(enc, with_negatives)
    results = []
    for chunk, bucket in ((0, 0), (2, 0), (3, 0), (0, 2), (2, 2)):
        enc.zero_grad(set_to_none=True)
        loss = contrastive_step(enc.embed, sides, ids, T, chunk_size=chunk, bucket_size=bucket)
        results.append((loss, _grads(enc)))
    for other in results[1:]:
        _assert_same(results[0], other)


def test_grad_cache_replays_dropout(tiny_model_dir):
    """With dropout on, GradCache's gradients are those of the loss its first pass saw."""
    enc = Encoder.load(tiny_model_dir, EncoderSettings(query_max_length=16, passage_max_length=24))
    enc.double().train()
    sides, ids = _batch(enc, True)
    torch.manual_seed(7)
    enc.zero_grad(set_to_none=True)
    cached = (contrastive_step(enc.embed, sides, ids, T, chunk_size=2), _grads(enc))
    # reference: the same chunks in the same order (same dropout draws), all with a graph
    torch.manual_seed(7)
    enc.zero_grad(set_to_none=True)
    embs = []
    for f in sides:
        f_sorted, restore = sort_by_length(f)
        embs.append(torch.cat([enc.embed(c) for c in chunk_features(f_sorted, 2)])[restore])
    loss = info_nce(embs[0], embs[1], ids, embs[2], T)
    loss.backward()
    _assert_same(cached, (loss.detach(), _grads(enc)))


def test_identical_positives_under_other_ids_are_not_negatives():
    """Two questions (ids a, b) whose answer is the same sentence: each one's positive must
    not be the other's negative, though their ids differ; a different text still is."""
    from mixbatch.model.loss import normalise_text, text_codes

    q = unit([1.0, 0.0], [0.9, 0.1], [0.0, 1.0])
    p = unit([1.0, 0.1], [1.0, 0.1], [0.2, 1.0])
    positives = ["The port of Mombasa.", "the  port of MOMBASA.", "A river."]
    assert normalise_text(positives[0]) == normalise_text(positives[1])
    ids, texts = id_codes(["a", "b", "c"]), text_codes(positives)
    got = info_nce(q, p, ids, temperature=T, texts=texts)
    assert float(got) == pytest.approx(hand_loss(q, p, [0, 1, 2], masked={(0, 1), (1, 0)}), rel=1e-12)
    # without the text codes the duplicate counts as a negative: a larger loss
    assert float(info_nce(q, p, ids, temperature=T)) > float(got) + 0.1


def test_hard_negative_equal_to_the_positive_is_masked():
    from mixbatch.model.loss import text_codes

    q = unit([1.0, 0.0], [0.0, 1.0])
    p = unit([1.0, 0.1], [0.1, 1.0])
    n = unit([1.0, 0.1], [1.0, 1.0])  # row 0's negative is its own positive's text
    ids = id_codes(["a", "b"])
    pos, neg = text_codes(["Mombasa.", "Nile."]), text_codes(["mombasa.", "Somewhere else."])
    got = info_nce(q, p, ids, n, T, pos, neg)
    cands = torch.cat([p, n])
    assert float(got) == pytest.approx(hand_loss(q, cands, [0, 1], masked={(0, 2)}), rel=1e-12)
