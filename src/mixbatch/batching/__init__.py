"""Training batches for multilingual retrieval: X-X, X-Y, hybrid, random and mixed, as Parquet shards.

aligned (read a split into an index + on-disk text), sampler (the batch draws), checks
(impossible requests -> errors), writer (shards + manifest), build (one split end to end).
"""

from mixbatch.batching.aligned import compose_passage
from mixbatch.batching.build import SAMPLINGS, ShardSpec, batch_type_probs, build_shards
from mixbatch.batching.writer import SHARD_SCHEMA

__all__ = ["SAMPLINGS", "SHARD_SCHEMA", "ShardSpec", "batch_type_probs", "build_shards", "compose_passage"]
