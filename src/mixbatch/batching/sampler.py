"""Batch sampling: X-X, X-Y and hybrid batches, drawn shard by shard with numpy.

Definitions (../shared/PAPER.md, "Batch sampling"):
- X-X: the batch is one language, drawn uniformly among its data set's training
  languages; question and passage are both in it.
- X-Y: every pair has question language != passage language; the ordered pair is drawn
  uniformly per example among the languages that its xling_id exists in.
- Hybrid: each batch is X-X with probability `p_xx` (alpha), else X-Y.
- With several data sets, each batch comes from one set, chosen with probability
  proportional to its size (rows in the selected languages).

Ids come from `IdStream`s, endless successive permutations of a pool of ids (one pool per
(data set, language) for X-X, one per data set for X-Y), so ids are used evenly and no
batch holds an xling_id twice. A pool smaller than the batch size gives smaller batches
(every id of the pool, reshuffled each time); `BatchSampler.shrunk` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixbatch.batching.aligned import AlignedSet


class IdStream:
    """Ids of a pool, endlessly: successive random permutations, cut into batches of
    `size = min(batch_size, len(pool))` in which no id repeats."""

    def __init__(self, pool: np.ndarray, batch_size: int, rng: np.random.Generator):
        self.pool, self.rng = pool, rng
        self.size = min(batch_size, len(pool))
        self._pending = pool[:0]  # drawn but not yet handed out; always starts a batch

    def take(self, num_batches: int) -> np.ndarray:
        """The next `num_batches` batches of ids, shape (num_batches, size)."""
        need = num_batches * self.size
        if len(self._pending) >= need:  # the common case: no copy of a large pool
            out, self._pending = self._pending[:need], self._pending[need:]
            return out.reshape(num_batches, self.size)
        parts, have = [self._pending], len(self._pending)
        while have < need:
            perm = self.rng.permutation(self.pool)
            straddle = have % self.size  # ids of the last batch already taken from the previous part
            if straddle:
                perm = _keep_out_of_head(perm, parts[-1][-straddle:], self.size - straddle)
            parts.append(perm)
            have += len(perm)
        stream = np.concatenate(parts)
        self._pending = stream[need:]
        return stream[:need].reshape(num_batches, self.size)


def _keep_out_of_head(perm: np.ndarray, taken: np.ndarray, head: int) -> np.ndarray:
    """Reorder `perm` (stably) so that its first `head` ids avoid `taken`: the batch that
    straddles two permutations must not repeat an id."""
    ok = np.flatnonzero(~np.isin(perm, taken))[:head]
    first = np.zeros(len(perm), dtype=bool)
    first[ok] = True
    return np.concatenate([perm[first], perm[~first]])


@dataclass
class Plan:
    """The rows of a run of consecutive batches (all arrays are per row, except the
    per-batch `batch_is_xx`): `batch` is the batch index within the plan."""

    batch: np.ndarray
    batch_is_xx: np.ndarray
    dataset: np.ndarray
    xling_id: np.ndarray
    q_lang: np.ndarray
    p_lang: np.ndarray
    q_row: np.ndarray
    p_row: np.ndarray


class BatchSampler:
    """Draws batches for `sets` (one per data set; all share the language codes).

    `p_xx` is the probability that a batch is X-X: 1 for sampling xx, 0 for xy, alpha for
    hybrid. Call `check_batches` (mixbatch.batching.checks) first: it turns impossible
    requests into errors that name the params.
    """

    def __init__(self, sets: list[AlignedSet], batch_size: int, p_xx: float, rng: np.random.Generator):
        self.sets, self.p_xx, self.rng = sets, p_xx, rng
        sizes = np.array([s.num_rows for s in sets], dtype=float)
        self.dataset_p = sizes / sizes.sum()
        num_langs = len(sets[0].languages)
        # pool_of[d, 0] is data set d's X-Y pool; pool_of[d, 1 + l] its X-X pool in language l.
        self.pool_of = np.full((len(sets), num_langs + 1), -1, dtype=np.int64)
        self.streams: list[IdStream] = []
        self.pool_names: list[tuple[str, str, str]] = []
        for d, aligned in enumerate(sets):
            present = aligned.rows >= 0
            if p_xx < 1:
                self._add_pool(d, 0, np.flatnonzero(present.sum(axis=1) >= 2), batch_size, ("xy", "*"))
            if p_xx > 0:
                for lang in aligned.present_languages():
                    pool = np.flatnonzero(present[:, lang])
                    self._add_pool(d, 1 + lang, pool, batch_size, ("xx", aligned.languages[lang]))
        self.xx_langs = [np.array(s.present_languages(), dtype=np.int64) for s in sets]

    def _add_pool(self, d: int, slot: int, pool: np.ndarray, batch_size: int, what: tuple[str, str]) -> None:
        if len(pool):
            self.pool_of[d, slot] = len(self.streams)
            self.streams.append(IdStream(pool, batch_size, self.rng))
            self.pool_names.append((self.sets[d].dataset, *what))

    def shrunk(self, batch_size: int) -> list[dict]:
        """Pools that cannot fill a batch: their batches are smaller (for the manifest)."""
        return [
            {"dataset": d, "batch_type": t, "language": lang, "batch_size": s.size}
            for (d, t, lang), s in zip(self.pool_names, self.streams)
            if s.size < batch_size
        ]

    def draw(self, num_batches: int) -> Plan:
        """The next `num_batches` batches, each from one pool, in order."""
        rng = self.rng
        dataset = rng.choice(len(self.sets), size=num_batches, p=self.dataset_p) if len(self.sets) > 1 \
            else np.zeros(num_batches, dtype=np.int64)
        is_xx = rng.random(num_batches) < self.p_xx
        slot = np.zeros(num_batches, dtype=np.int64)
        for d, langs in enumerate(self.xx_langs):  # X-X language: uniform over the set's languages
            mine = np.flatnonzero(is_xx & (dataset == d))
            slot[mine] = 1 + langs[rng.integers(len(langs), size=len(mine))] if len(langs) else 0
        pool = self.pool_of[dataset, slot]
        sizes = np.array([s.size for s in self.streams], dtype=np.int64)[pool]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        n = int(starts[-1])
        ids, q_lang, p_lang = (np.empty(n, dtype=np.int64) for _ in range(3))
        for p in np.unique(pool):  # sorted: the draw order is fixed
            batches = np.flatnonzero(pool == p)
            stream = self.streams[p]
            where = (starts[batches][:, None] + np.arange(stream.size)).ravel()
            ids[where] = stream.take(len(batches)).ravel()
            d, lang = dataset[batches[0]], slot[batches[0]] - 1
            if lang >= 0:
                q_lang[where] = p_lang[where] = lang
            else:
                q_lang[where], p_lang[where] = _draw_pairs(self.sets[d].rows[ids[where]] >= 0, rng)
        row_dataset = np.repeat(dataset, sizes)
        q_row = np.empty(n, dtype=np.int64)
        p_row = np.empty(n, dtype=np.int64)
        for d, aligned in enumerate(self.sets):
            mine = row_dataset == d
            q_row[mine] = aligned.rows[ids[mine], q_lang[mine]]
            p_row[mine] = aligned.rows[ids[mine], p_lang[mine]]
        batch = np.repeat(np.arange(num_batches), sizes)
        return Plan(batch, is_xx, row_dataset, ids, q_lang, p_lang, q_row, p_row)


def _draw_pairs(available: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per row, an ordered pair of distinct languages, uniform among the row's available
    ones (`available`: rows x languages, at least two True per row)."""
    keys = rng.random(available.shape)
    keys[~available] = -1.0
    q = keys.argmax(axis=1)
    keys = rng.random(available.shape)
    keys[~available] = -1.0
    keys[np.arange(len(q)), q] = -1.0
    return q, keys.argmax(axis=1)
