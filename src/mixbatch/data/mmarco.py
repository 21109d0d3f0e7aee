"""mMARCO (MS MARCO passage ranking, machine-translated) as a training set in the split format.

Hub layout (data set `unicamp-dl/mmarco`; paths relative to the repo root, `<tr>` the
translation, `<name>` the language name, e.g. `german`):

    data/triples.train.ids.small.tsv                  qid<TAB>positive pid<TAB>negative pid
    data/<tr>/queries/train/<name>_queries.train.tsv  qid<TAB>query    (~808,731 lines)
    data/<tr>/collections/<name>_collection.tsv       pid<TAB>passage  (8,841,823 lines, 2-8 GB)
    data/<tr>/queries/dev/<name>_queries.dev[.small].tsv, data/qrels.dev[.small].tsv,
    data/<tr>/runs/...                                (dev set and BM25 runs: not used here)

`<tr>` is `google` (Google Translate, 14 languages) or `helsinki` (the first release,
MarianNMT/Helsinki-NLP models, 9 languages); English is the original MS MARCO text in both.
Ids are MS MARCO's, so a query id or passage id means the same item in every language.

Where this comes from (the hub cannot be reached from the development machines):
- the hub repo's file tree, huggingface.co/datasets/unicamp-dl/mmarco/tree/main/data
  (data/google, data/helsinki since hub commit 714e234 "Change the naming of translation
  versions", which renamed data/v2 and data/v1; last change under data/: 4618200, pinned
  below as MMARCO_REVISION);
- the repo's loading script mmarco.py: `_BASE_URLS` (data/google/collections/,
  queries/train/, queries/dev/, data/triples.train.ids.small.tsv), `LANGUAGES` (the 14
  names) and its readers (every file is `id<TAB>text`, the triples `qid<TAB>pos<TAB>neg`);
- the data set card (README.md: 14 languages including the original English) and
  github.com/unicamp-dl/mMARCO README.md (v1 = Helsinki models, v2 = Google Translate);
- ir_datasets (allenai/ir_datasets, ir_datasets/datasets/mmarco.py): the same triples as
  the train docpairs, with MS MARCO passage's own query and passage ids and train qrels
  (qrels.train.tsv is not in the mMARCO repo, so the positives come from the triples).

Conversion (`training_pairs`, `write_mmarco_split`): the training queries are the query
ids of the triples file; a query's positive is the smallest positive pid it has there
(most have one). One row per (query id, language): xling_id = the query id, qid =
"<lang>:<query id>", cid = "<lang>:<pid>", sentence = context = the passage (mMARCO
passages have no separate paragraph). Files are read line by line; the collections are
scanned once per language, keeping only the needed passages.

An id whose query or positive passage is missing in a language is, by default
(`missing="drop"`), left out in that language only and counted in the report (the split
format allows an id to be absent in some languages, and the translated files do not all
have the same line counts: ir_datasets counts 811,690 Portuguese train queries, 808,731
German, in the Helsinki release). `missing="error"` makes it an error naming the
language, id and file. Malformed lines (field count, non-integer id, empty text or a
repeated id where needed, bad UTF-8) are always errors naming the file and line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from mixbatch.data.hub import hub_reachable
from mixbatch.data.split import PAIR_COLUMNS, split_ids
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, write_json

log = logging.getLogger(__name__)

MMARCO_REPO = "unicamp-dl/mmarco"
MMARCO_REVISION = "4618200568100aa0bf7fbf494d8d022e7ecab9a6"
TRIPLES_PATH = "data/triples.train.ids.small.tsv"
# mMARCO's language names -> mixbatch (ISO 639-1) codes; ir_datasets writes Dutch as "dt".
LANGUAGE_CODES = {
    "arabic": "ar", "chinese": "zh", "dutch": "nl", "english": "en", "french": "fr", "german": "de",
    "hindi": "hi", "indonesian": "id", "italian": "it", "japanese": "ja", "portuguese": "pt",
    "russian": "ru", "spanish": "es", "vietnamese": "vi",
}
TRANSLATIONS = {
    "google": tuple(LANGUAGE_CODES),
    "helsinki": ("chinese", "english", "french", "german", "indonesian", "italian", "portuguese",
                 "russian", "spanish"),
}
MISSING_POLICIES = ("drop", "error")
PROGRESS_BYTES = 1 << 24
SCHEMA = pa.schema([(c, pa.large_string()) for c in PAIR_COLUMNS])


def language_names(languages: list[str], translation: str = "google") -> dict[str, str]:
    """{mixbatch code: mMARCO file name} for `languages`, checked against the translation."""
    if translation not in TRANSLATIONS:
        raise MixbatchError(f"mMARCO translation {translation!r} is not allowed; allowed: {', '.join(TRANSLATIONS)}")
    have = {LANGUAGE_CODES[name]: name for name in TRANSLATIONS[translation]}
    unknown = [lang for lang in languages if lang not in have]
    if unknown or not languages:
        raise MixbatchError(
            f"mMARCO ({translation}) languages {', '.join(unknown) or '(none given)'} not available; "
            f"allowed: {', '.join(sorted(have))}"
        )
    return {lang: have[lang] for lang in sorted(set(languages))}


def queries_path(name: str, translation: str) -> str:
    return f"data/{translation}/queries/train/{name}_queries.train.tsv"


def collection_path(name: str, translation: str) -> str:
    return f"data/{translation}/collections/{name}_collection.tsv"


def hub_files(languages: list[str], translation: str = "google") -> list[str]:
    """The repo paths the converter reads for `languages`: triples, then queries and collection per language."""
    names = language_names(languages, translation).values()
    return [TRIPLES_PATH] + [p for n in names for p in (queries_path(n, translation), collection_path(n, translation))]


def _how_to_provide(hub_dir: Path, translation: str) -> str:
    return (
        f"mMARCO is only on the Hugging Face hub (data set {MMARCO_REPO}). To provide it offline, download "
        f"the files elsewhere (e.g. `hf download {MMARCO_REPO} <paths> --repo-type dataset "
        f"--revision {MMARCO_REVISION} --local-dir <folder>`), put them in a folder laid out like the hub "
        f"repo (<folder>/{TRIPLES_PATH}, <folder>/{collection_path('german', translation)}, ...) and point "
        f"the converter at that folder (here: {hub_dir})."
    )


def fetch_mmarco(out_dir: str | Path, languages: list[str], translation: str = "google",
                 revision: str = MMARCO_REVISION, timeout_s: float = 10.0) -> list[Path]:
    """Download the files `hub_files` names into `out_dir`, laid out like the hub repo.

    Files already there are used as they are (a rerun is a no-op and needs no network).
    The hub is probed first (`timeout_s`; HF_HUB_OFFLINE / HF_DATASETS_OFFLINE honoured),
    so an offline machine gets a MixbatchError at once that says how to provide the files.
    """
    out_dir = Path(out_dir)
    files = hub_files(languages, translation)
    absent = [f for f in files if not (out_dir / f).is_file()]
    if absent:
        ok, why = hub_reachable(MMARCO_REPO, timeout_s)
        if not ok:
            listed = "\n".join(f"  - {out_dir / f}" for f in absent)
            raise MixbatchError(
                f"mMARCO needs the Hugging Face hub, which cannot be reached ({why}); missing:\n{listed}\n"
                + _how_to_provide(out_dir, translation)
            )
        from huggingface_hub import hf_hub_download

        for name in absent:
            log.info("mMARCO: downloading %s (%s@%s)", name, MMARCO_REPO, revision[:7])
            try:
                hf_hub_download(MMARCO_REPO, name, repo_type="dataset", revision=revision, local_dir=out_dir)
            except Exception as e:  # any hub failure: one clear message, no traceback
                raise MixbatchError(
                    f"could not download {name} from {MMARCO_REPO}@{revision}: {type(e).__name__}: {e}\n"
                    + _how_to_provide(out_dir, translation)
                ) from None
    return [out_dir / f for f in files]


def _tsv(path: Path, num_fields: int) -> Iterator[tuple[int, list[bytes]]]:
    """(line number, fields) per non-empty line; another field count is an error."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise MixbatchError(f"{path}: mMARCO file is missing") from None
    with f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, leave=False,
                 disable=None) as bar:
        unread = 0  # bytes not yet shown on the bar: updating it per line would cost more than the parsing
        for number, line in enumerate(f, start=1):
            unread += len(line)
            if unread >= PROGRESS_BYTES:
                bar.update(unread)
                unread = 0
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            fields = line.split(b"\t")
            if len(fields) != num_fields:
                raise MixbatchError(
                    f"{path}: line {number}: expected {num_fields} tab-separated fields, got {len(fields)}: "
                    f"{line[:100].decode('utf-8', 'replace')!r}"
                )
            yield number, fields


def _int_id(field: bytes, path: Path, number: int, what: str) -> int:
    if not field.isdigit():
        shown = field[:40].decode("utf-8", "replace")
        raise MixbatchError(f"{path}: line {number}: {what} {shown!r} is not an integer id")
    return int(field)


def read_positives(path: Path) -> dict[int, int]:
    """{query id: its smallest positive pid} from the training triples."""
    positives: dict[int, int] = {}
    for number, (qid, pos, neg) in _tsv(path, 3):
        qid, pid = _int_id(qid, path, number, "query id"), _int_id(pos, path, number, "positive pid")
        _int_id(neg, path, number, "negative pid")
        if pid < positives.get(qid, pid + 1):
            positives[qid] = pid
    if not positives:
        raise MixbatchError(f"{path}: no training triples")
    return positives


def read_texts(path: Path, wanted: set[int], what: str) -> dict[int, str]:
    """{id: text} for the wanted ids of an `id<TAB>text` file, in one pass over it."""
    texts: dict[int, str] = {}
    first_line: dict[int, int] = {}
    for number, (raw_id, raw_text) in _tsv(path, 2):
        key = _int_id(raw_id, path, number, f"{what} id")
        if key not in wanted:
            continue
        if key in texts:
            raise MixbatchError(f"{path}: line {number}: {what} {key} again (first at line {first_line[key]})")
        try:
            text = raw_text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MixbatchError(f"{path}: line {number}: not UTF-8 ({e.reason} at byte {e.start})") from None
        if not text.strip():
            raise MixbatchError(f"{path}: line {number}: {what} {key} has empty text")
        texts[key], first_line[key] = text, number
    return texts


def select_queries(qids, max_queries: int = 0, query_seed: int | None = None) -> list[int]:
    """The training query ids, ascending: all (max_queries 0), the first `max_queries` by id,
    or (query_seed given) a seeded random `max_queries` of them."""
    if max_queries < 0:
        raise MixbatchError(f"mMARCO max_queries = {max_queries}: must be 0 (all) or positive")
    ids = np.array(sorted(qids), dtype=np.int64)
    if 0 < max_queries < len(ids):
        if query_seed is None:
            ids = ids[:max_queries]
        else:
            ids = np.sort(ids[np.random.default_rng(query_seed).choice(len(ids), max_queries, replace=False)])
    return ids.tolist()


def _language_rows(hub_dir: Path, lang: str, name: str, translation: str, qids: list[int],
                   positives: dict[int, int], missing: str) -> tuple[pa.Table, dict]:
    """One language's rows (ascending query id) and its counts."""
    q_path, c_path = hub_dir / queries_path(name, translation), hub_dir / collection_path(name, translation)
    queries = read_texts(q_path, set(qids), "query")
    passages = read_texts(c_path, {positives[q] for q in qids}, "passage")
    no_query = [q for q in qids if q not in queries]
    no_passage = [q for q in qids if q in queries and positives[q] not in passages]
    if missing == "error" and (no_query or no_passage):
        q = (no_query or no_passage)[0]
        where = (f"query {q} is not in {q_path}" if no_query
                 else f"the positive passage {positives[q]} of query {q} is not in {c_path}")
        raise MixbatchError(
            f"mMARCO {name} ({lang}): {where} ({len(no_query)} queries and {len(no_passage)} positive passages "
            "missing in this language); missing='drop' leaves such ids out in that language"
        )
    kept = [q for q in qids if q in queries and positives[q] in passages]
    passage = pa.array([passages[positives[q]] for q in kept], pa.large_string())
    table = pa.Table.from_arrays([
        pa.array([str(q) for q in kept], pa.large_string()),
        pa.array([lang] * len(kept), pa.large_string()),
        pa.array([f"{lang}:{q}" for q in kept], pa.large_string()),
        pa.array([queries[q] for q in kept], pa.large_string()),
        pa.array([f"{lang}:{positives[q]}" for q in kept], pa.large_string()),
        passage,
        passage,  # context: the same passage (one buffer, written twice)
    ], schema=SCHEMA)
    counts = {"name": name, "rows": len(kept), "missing_query": len(no_query),
              "missing_passage": len(no_passage), "missing_examples": (no_query + no_passage)[:5]}
    if no_query or no_passage:
        log.warning("mMARCO %s: %d ids left out (query missing %d, positive passage missing %d)",
                    lang, len(no_query) + len(no_passage), len(no_query), len(no_passage))
    return table, counts


def _language_tables(hub_dir, languages, translation, max_queries, query_seed, missing):
    """(report, selected query ids, lazy iterator of (lang, table, counts)); the triples are read here."""
    names = language_names(languages, translation)
    if missing not in MISSING_POLICIES:
        raise MixbatchError(f"mMARCO missing = {missing!r} is not allowed; allowed: {', '.join(MISSING_POLICIES)}")
    hub_dir = Path(hub_dir)
    absent = [f for f in hub_files(list(names), translation) if not (hub_dir / f).is_file()]
    if absent:  # before any long scan
        raise MixbatchError(f"{hub_dir / absent[0]}: mMARCO file is missing ({len(absent)} needed file(s) missing "
                            f"under {hub_dir}).\n{_how_to_provide(hub_dir, translation)}")
    positives = read_positives(hub_dir / TRIPLES_PATH)
    qids = select_queries(positives, max_queries, query_seed)
    report = {"dataset": "mmarco", "translation": translation, "max_queries": max_queries,
              "query_seed": query_seed, "missing": missing,
              "queries": {"in_triples": len(positives), "selected": len(qids)}, "languages": {}}
    tables = ((lang, *_language_rows(hub_dir, lang, name, translation, qids, positives, missing))
              for lang, name in names.items())
    return report, qids, tables


def training_pairs(hub_dir: str | Path, languages: list[str], translation: str = "google", max_queries: int = 0,
                   query_seed: int | None = None, missing: str = "drop") -> tuple[pd.DataFrame, dict]:
    """All pairs as one table (columns PAIR_COLUMNS; sorted by lang, then query id) and the report."""
    report, _, tables = _language_tables(hub_dir, languages, translation, max_queries, query_seed, missing)
    parts = []
    for lang, table, counts in tables:
        parts.append(table)
        report["languages"][lang] = counts
    return pa.concat_tables(parts).to_pandas(), report


def write_mmarco_split(hub_dir: str | Path, out: str | Path, languages: list[str], valid_fraction: float,
                       seed: int, translation: str = "google", max_queries: int = 0,
                       query_seed: int | None = None, missing: str = "drop") -> dict:
    """Write <out>/train.parquet, valid.parquet (the split contract) and split.json; return the report.

    The validation ids are `split_ids` (the id-level draw that `train_valid_split` uses,
    salt "mmarco") over the selected query ids, drawn before any text is read, so each
    language is converted and written on its own and every translation of an id lands
    on the same side. Memory: one language's needed texts at a time.
    """
    report, qids, tables = _language_tables(hub_dir, languages, translation, max_queries, query_seed, missing)
    valid_ids = split_ids(pd.Series([str(q) for q in qids]), valid_fraction, seed, salt="mmarco")
    valid_set = pa.array(sorted(valid_ids), pa.large_string())
    ids: dict[str, set] = {"train": set(), "valid": set()}
    rows: dict[str, dict] = {"train": {}, "valid": {}}
    with atomic_dir(out) as tmp:
        writers = {side: pq.ParquetWriter(tmp / f"{side}.parquet", SCHEMA) for side in ids}
        try:
            for lang, table, counts in tables:
                report["languages"][lang] = counts
                in_valid = pc.is_in(table["xling_id"], value_set=valid_set)
                for side, part in (("train", table.filter(pc.invert(in_valid))), ("valid", table.filter(in_valid))):
                    writers[side].write_table(part)
                    ids[side].update(part["xling_id"].to_pylist())
                    rows[side][lang] = part.num_rows
        finally:
            for writer in writers.values():
                writer.close()
        report.update(seed=seed, valid_fraction=valid_fraction,
                      **{side: {"ids": len(ids[side]), "rows": sum(rows[side].values()), "languages": rows[side]}
                         for side in ids})
        write_json(tmp / "split.json", report)
    log.info("mMARCO: train %d ids / %d rows, valid %d ids / %d rows", report["train"]["ids"],
             report["train"]["rows"], report["valid"]["ids"], report["valid"]["rows"])
    return report
