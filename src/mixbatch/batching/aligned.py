"""Read one split of one training data set into an index for batch sampling.

Input: `data/split/<dataset>/{train,valid}.parquet` (a file or a folder of Parquet
files), one row per (xling_id, lang) with columns xling_id, lang, question, sentence,
context (DEVELOPERS.md, data contracts). It is read as a Parquet dataset in record
batches, never whole: the text goes straight to on-disk `TextStore`s, and only a small
integer index stays in memory (an id x language matrix of row numbers).

Params used (section `shards`): `languages` (rows in other languages are skipped and
counted) and `passage` (what the positive text is: the answer sentence, or the sentence
followed by its paragraph).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mixbatch.batching.textstore import TextStore
from mixbatch.errors import MixbatchError

PASSAGE_MODES = ("sentence", "sentence+context")
READ_BATCH_ROWS = 1 << 16


def compose_passage(sentence: pa.Array, context: pa.Array | None, mode: str) -> pa.Array:
    """The positive text for `shards.passage`: the sentence, or "<sentence> <context>"."""
    if mode == "sentence":
        return sentence
    if mode == "sentence+context":
        big = pa.large_string()  # one string type for all three arguments (the split writes large_string)
        return pc.binary_join_element_wise(sentence.cast(big), context.cast(big), pa.scalar(" ", big))
    raise MixbatchError(f"shards.passage: {mode!r} is not allowed; allowed: {', '.join(PASSAGE_MODES)}")


@dataclass
class AlignedSet:
    """One data set's split, indexed for sampling.

    `rows[i, l]` is the row (in `queries` / `passages`) of id `xling_ids[i]` in language
    `languages[l]` (the params' language list, in its order), or -1 where that
    translation does not exist. Id codes follow the sorted xling_id strings, so the
    sampling does not depend on the input's row order.
    """

    dataset: str
    path: str
    languages: list[str]
    xling_ids: pa.Array
    rows: np.ndarray
    queries: TextStore
    passages: TextStore
    skipped_languages: dict[str, int] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return self.queries.num_rows

    def ids_per_language(self) -> dict[str, int]:
        counts = (self.rows >= 0).sum(axis=0)
        return {lang: int(n) for lang, n in zip(self.languages, counts) if n}

    def present_languages(self) -> list[int]:
        """Codes of the params' languages that this set has at least one row in."""
        return [int(code) for code in np.flatnonzero((self.rows >= 0).any(axis=0))]


def _open_dataset(path: Path, columns: list[str]) -> ds.Dataset:
    if not path.exists():
        raise MixbatchError(f"{path}: split file not found (run `mixbatch split` first)")
    try:
        dataset = ds.dataset(str(path), format="parquet")
    except (pa.ArrowInvalid, OSError) as e:
        raise MixbatchError(f"{path}: not a readable Parquet file or folder: {e}") from None
    missing = [c for c in columns if c not in dataset.schema.names]
    if missing:
        raise MixbatchError(
            f"{path}: missing column(s) {', '.join(missing)}; a split table has "
            "xling_id, lang, qid, question, cid, sentence, context"
        )
    return dataset


def _record_batches(dataset: ds.Dataset, columns: list[str]):
    """Record batches file by file. ParquetFile.iter_batches decodes a batch at a time;
    the dataset scanner decodes whole row groups ahead (a split file is often a single
    row group), which would make peak memory grow with the input's size."""
    for path in sorted(dataset.files):
        yield from pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH_ROWS, columns=columns, use_threads=False)


def _check_texts(path: Path, batch: pa.RecordBatch, columns: list[str], first_row: int) -> None:
    """No null value anywhere, no blank id, language or text: a blank question or passage
    would become a training pair with nothing in it. Errors name the row and column."""
    for column in columns:
        values = batch.column(column)
        blank = pc.is_null(values)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            blank = pc.or_kleene(blank, pc.equal(pc.utf8_trim_whitespace(values), ""))  # null or blank
        if pc.any(blank).as_py():
            row = first_row + int(pc.index(blank, True).as_py())
            raise MixbatchError(f"{path}: row {row}: column {column!r} is empty or blank; every row needs "
                                f"an id, a language and non-blank texts")


def read_split(name: str, path: str | Path, languages: list[str], passage: str, store_dir: str | Path) -> AlignedSet:
    """Stream a split table into text stores under `store_dir` and index it."""
    path = Path(path)
    columns = ["xling_id", "lang", "question", "sentence"] + (["context"] if passage == "sentence+context" else [])
    dataset = _open_dataset(path, columns)
    store_dir = Path(store_dir)
    queries, passages = TextStore(store_dir, f"{name}.query"), TextStore(store_dir, f"{name}.positive")
    wanted = pa.array(languages, type=pa.string())
    id_chunks, lang_chunks, skipped = [], [], {}
    first_row = 0  # row number (in file order) of the batch's first row, for error messages
    for batch in _record_batches(dataset, columns):
        _check_texts(path, batch, columns, first_row)
        first_row += batch.num_rows
        code = pc.index_in(batch.column("lang").cast(pa.string()), value_set=wanted)
        keep = pc.is_valid(code)
        if not pc.all(keep).as_py():  # count what `shards.languages` leaves out
            for item in pc.value_counts(batch.column("lang").filter(pc.invert(keep))).to_pylist():
                skipped[item["values"]] = skipped.get(item["values"], 0) + item["counts"]
            batch, code = batch.filter(keep), code.filter(keep)
        id_chunks.append(batch.column("xling_id").cast(pa.string()))
        lang_chunks.append(code.to_numpy(zero_copy_only=False).astype(np.int16))
        queries.append(batch.column("question"), f"{path}: question")
        context = batch.column("context") if "context" in columns else None
        passages.append(compose_passage(batch.column("sentence"), context, passage), f"{path}: {passage}")
    queries.close()
    passages.close()
    xling_ids, rows = _index(path, pa.chunked_array(id_chunks, type=pa.string()), lang_chunks, languages)
    return AlignedSet(name, str(path), list(languages), xling_ids, rows, queries, passages,
                      dict(sorted(skipped.items())))


def _index(path: Path, ids: pa.ChunkedArray, lang_chunks: list[np.ndarray], languages: list[str]):
    """Sorted unique ids and the (id, language) -> row matrix; duplicates are an error."""
    num_langs = len(languages)
    unique = pc.unique(ids)
    unique = unique.take(pc.array_sort_indices(unique))
    codes = pc.index_in(ids, value_set=unique).to_numpy()  # int32: ~4 bytes per input row
    langs = np.concatenate(lang_chunks) if lang_chunks else np.zeros(0, np.int16)
    row_type = np.int32 if len(codes) < 2**31 else np.int64
    rows = np.full((len(unique), num_langs), -1, dtype=row_type)
    rows[codes, langs] = np.arange(len(codes), dtype=row_type)
    if (rows >= 0).sum() != len(codes):  # a duplicate overwrote a cell
        key = codes.astype(np.int64) * num_langs + langs
        dup = int(np.flatnonzero(np.bincount(key) > 1)[0])
        raise MixbatchError(
            f"{path}: xling_id {unique[dup // num_langs].as_py()!r} has more than one row in language "
            f"{languages[dup % num_langs]!r}; a split table has one row per (xling_id, lang)"
        )
    return unique, rows
