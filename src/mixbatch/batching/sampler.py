"""Batch sampling: X-X, X-Y, hybrid, random and mixed batches, drawn shard by shard with numpy.

A run's sampling is a distribution over batch types (mixbatch.batching.build.batch_type_probs);
each batch draws its type from it. The batch types:
- "xx" (X-X, ../shared/PAPER.md "Batch sampling"): the batch is one language, drawn
  uniformly among its data set's training languages; question and passage are both in it.
- "xy" (X-Y, PAPER.md): every pair has question language != passage language; the ordered
  pair is drawn uniformly per example among the languages that its xling_id exists in.
- "random": per pair, the question language and the passage language are drawn
  independently and uniformly among the languages its xling_id exists in (so they are
  equal with probability 1 / that number): what shuffling all translation pairs gives.
- "mixed": per pair, one language drawn uniformly among its xling_id's languages, for both
  question and passage; a batch mixes languages: what shuffling a multilingual training
  set gives.
Samplings: xx, xy, random and mixed give only that type; hybrid (PAPER.md) gives X-X
with probability alpha, else X-Y. With several data sets, each batch comes from one set,
chosen with probability proportional to its size (rows in the selected languages).

Ids come from `IdStream`s, endless successive permutations of a pool of ids, so ids are
used evenly and no batch holds an xling_id twice. X-X has one pool per (data set,
language); the other types one per data set, of the ids that exist in at least
`MIN_LANGUAGES[type]` of the selected languages. A pool smaller than the batch size gives
smaller batches (every id of the pool, reshuffled each time); `BatchSampler.shrunk`
reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixbatch.batching.aligned import AlignedSet

BATCH_TYPES = ("xx", "xy", "random", "mixed")
# An id enters a data set's pool for a batch type when it exists in this many languages.
MIN_LANGUAGES = {"xx": 1, "xy": 2, "random": 1, "mixed": 1}
PER_LANGUAGE_POOLS = ("xx",)  # the batch is one language: one pool per language


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
    per-batch `batch_type`, codes into BATCH_TYPES): `batch` is the batch index within the plan."""

    batch: np.ndarray
    batch_type: np.ndarray
    dataset: np.ndarray
    xling_id: np.ndarray
    q_lang: np.ndarray
    p_lang: np.ndarray
    q_row: np.ndarray
    p_row: np.ndarray


class BatchSampler:
    """Draws batches for `sets` (one per data set; all share the language codes).

    `batch_type_probs` maps batch types (BATCH_TYPES) to the probability that a batch is of
    that type (mixbatch.batching.build.batch_type_probs); types are drawn in its order.
    Call `check_batches` (mixbatch.batching.checks) first: it turns impossible requests
    into errors that name the params.
    """

    def __init__(self, sets: list[AlignedSet], batch_size: int, batch_type_probs: dict[str, float],
                 rng: np.random.Generator):
        unknown = set(batch_type_probs) - set(BATCH_TYPES)
        probs = np.array(list(batch_type_probs.values()), dtype=float)
        if unknown or not len(probs) or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
            raise ValueError(f"batch_type_probs must be a distribution over {BATCH_TYPES}: {batch_type_probs}")
        self.sets, self.rng = sets, rng
        self.batch_type_probs = dict(batch_type_probs)
        # batch type = type_codes[number of type_bounds <= a uniform draw]
        self.type_codes = np.array([BATCH_TYPES.index(t) for t in batch_type_probs], dtype=np.int64)
        self.type_bounds = np.cumsum(probs)[:-1]
        sizes = np.array([s.num_rows for s in sets], dtype=float)
        self.dataset_p = sizes / sizes.sum()
        in_use = [t for t in BATCH_TYPES if batch_type_probs.get(t, 0) > 0]
        # pool_of[d, t, l]: the stream of data set d, batch type t, batch language l (0 for
        # types without per-language pools); -1 where there is none.
        self.pool_of = np.full((len(sets), len(BATCH_TYPES), len(sets[0].languages)), -1, dtype=np.int64)
        self.streams: list[IdStream] = []
        self.pool_names: list[tuple[str, str, str]] = []
        for d, aligned in enumerate(sets):
            present = aligned.rows >= 0
            per_id = present.sum(axis=1)
            for t in (t for t in in_use if t not in PER_LANGUAGE_POOLS):  # a data set's shared pools first
                self._add_pool(d, t, 0, np.flatnonzero(per_id >= MIN_LANGUAGES[t]), batch_size, "*")
            for t in (t for t in in_use if t in PER_LANGUAGE_POOLS):
                for lang in aligned.present_languages():
                    self._add_pool(d, t, lang, np.flatnonzero(present[:, lang]), batch_size, aligned.languages[lang])
        self.batch_langs = [np.array(s.present_languages(), dtype=np.int64) for s in sets]

    def _add_pool(self, d: int, batch_type: str, lang: int, pool: np.ndarray, batch_size: int, lang_name: str) -> None:
        if len(pool):
            self.pool_of[d, BATCH_TYPES.index(batch_type), lang] = len(self.streams)
            self.streams.append(IdStream(pool, batch_size, self.rng))
            self.pool_names.append((self.sets[d].dataset, batch_type, lang_name))

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
        batch_type = self.type_codes[np.searchsorted(self.type_bounds, rng.random(num_batches), side="right")]
        per_language = np.isin(batch_type, [BATCH_TYPES.index(t) for t in PER_LANGUAGE_POOLS])
        batch_lang = np.zeros(num_batches, dtype=np.int64)
        for d, langs in enumerate(self.batch_langs):  # X-X language: uniform over the set's languages
            mine = np.flatnonzero(per_language & (dataset == d))
            if len(langs):
                batch_lang[mine] = langs[rng.integers(len(langs), size=len(mine))]
        pool = self.pool_of[dataset, batch_type, batch_lang]
        if (pool < 0).any():  # check_batches rules this out; -1 would index the last pool
            raise ValueError("a batch type with no ids in a data set was drawn; call check_batches first")
        sizes = np.array([s.size for s in self.streams], dtype=np.int64)[pool]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        n = int(starts[-1])
        ids, q_lang, p_lang = (np.empty(n, dtype=np.int64) for _ in range(3))
        for p in np.unique(pool):  # sorted: the draw order is fixed
            batches = np.flatnonzero(pool == p)
            stream = self.streams[p]
            where = (starts[batches][:, None] + np.arange(stream.size)).ravel()
            ids[where] = stream.take(len(batches)).ravel()
            first = batches[0]
            q_lang[where], p_lang[where] = _pair_languages(
                BATCH_TYPES[batch_type[first]], batch_lang[first], self.sets[dataset[first]].rows[ids[where]], rng)
        row_dataset = np.repeat(dataset, sizes)
        q_row = np.empty(n, dtype=np.int64)
        p_row = np.empty(n, dtype=np.int64)
        for d, aligned in enumerate(self.sets):
            mine = row_dataset == d
            q_row[mine] = aligned.rows[ids[mine], q_lang[mine]]
            p_row[mine] = aligned.rows[ids[mine], p_lang[mine]]
        batch = np.repeat(np.arange(num_batches), sizes)
        return Plan(batch, batch_type, row_dataset, ids, q_lang, p_lang, q_row, p_row)


def _pair_languages(batch_type: str, batch_lang: int, rows: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Question and passage language codes of the pairs of one pool's batches (`rows`: their
    ids' rows of the id x language matrix, -1 where a translation is missing)."""
    if batch_type in PER_LANGUAGE_POOLS:
        lang = np.full(len(rows), batch_lang, dtype=np.int64)
        return lang, lang
    available = rows >= 0
    q = _one_language(available, rng)
    if batch_type == "mixed":
        return q, q
    if batch_type == "xy":  # the passage in another language than the question
        available[np.arange(len(q)), q] = False
    return q, _one_language(available, rng)


def _one_language(available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, a language drawn uniformly among the row's available ones (`available`:
    rows x languages, at least one True per row)."""
    keys = rng.random(available.shape)
    keys[~available] = -1.0
    return keys.argmax(axis=1)
