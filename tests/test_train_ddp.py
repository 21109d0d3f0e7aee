"""Two gloo CPU processes give the loss and gradients of one process on the same global batch."""

from __future__ import annotations

import pytest
import torch

from mixbatch.model import distributed as D
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.model.loss import contrastive_step, id_codes
from mixbatch.train.shards import Batch

QUERIES = ["Where is the port?", "Wo ist der Hafen?", "肯尼亚最大的港口在哪里？", "Kenya'nın limanı nerede?", "Cảng ở đâu?"]
PASSAGES = ["The port of Mombasa is the largest in Kenya.", "Hafen", "港口", "Liman burada.", "Cảng lớn nhất Kenya."]
BATCH = Batch(0, "x", ["a", "b", "c", "a", "d"], QUERIES, PASSAGES, list(reversed(PASSAGES)), "xy")


def loss_and_grads(model_dir, chunk: int, negatives: bool) -> tuple[float, dict]:
    """One contrastive step on this process's rows of BATCH (all of it when not distributed)."""
    torch.set_num_threads(1)
    enc = Encoder.load(model_dir, EncoderSettings(query_max_length=16, passage_max_length=24))
    enc.double().eval()
    local = BATCH.rows(D.rank(), D.world_size())
    sides = [enc.tokenize(local.queries, "query"), enc.tokenize(local.positives, "passage")]
    if negatives:
        sides.append(enc.tokenize(local.negatives, "passage"))
    loss = contrastive_step(enc.embed, sides, id_codes(local.xling_ids), 0.05, chunk_size=chunk)
    params = [p for p in enc.parameters() if p.requires_grad]
    D.sum_gradients(params)
    total = D.all_reduce_sum(float(loss), torch.device("cpu"))
    return total, {n: p.grad.clone() for n, p in enc.named_parameters() if p.grad is not None}


def _rank(model_dir, chunk, negatives, out):
    D.init_from_env("cpu")
    result = loss_and_grads(model_dir, chunk, negatives)
    torch.save(result, f"{out}.{D.rank()}")


@pytest.mark.parametrize("chunk,negatives", [(0, False), (2, True)])
def test_two_processes_equal_one(tiny_model_dir, tmp_path, chunk, negatives):
    single_loss, single_grads = loss_and_grads(tiny_model_dir, chunk, negatives)
    D.launch(_rank, 2, tiny_model_dir, chunk, negatives, tmp_path / "rank")  # 5 rows: 3 + 2
    for r in range(2):
        loss, grads = torch.load(tmp_path / f"rank.{r}")
        assert loss == pytest.approx(single_loss, rel=1e-12, abs=1e-12)
        assert grads.keys() == single_grads.keys()
        for name, g in grads.items():
            assert torch.allclose(g, single_grads[name], rtol=1e-9, atol=1e-12), name


def test_gather_without_process_group_is_identity():
    x = torch.randn(3, 4, requires_grad=True)
    assert D.gather(x) is x and D.offset_and_total(3, x.device) == (0, 3) and D.world_size() == 1
