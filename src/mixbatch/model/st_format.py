"""Make a mixbatch model folder a sentence-transformers model folder too.

In: a folder that already holds a Hugging Face model + tokenizer (what `Encoder.save`
writes) and the EncoderSettings it was trained with. Out, beside them, the files with
which sentence-transformers 6.2.0 loads the folder as Transformer -> Pooling -> Normalize:

    modules.json                       the three modules, in order
    sentence_bert_config.json          the Transformer module (it lives in the root)
    1_Pooling/config.json              mean or cls pooling, prompt tokens included
    2_Normalize/config.json            L2 normalisation
    config_sentence_transformers.json  prompts, similarity "cosine", versions

The layout, file names and module type paths are those `SentenceTransformer.save()`
writes in sentence-transformers 6.2.0 (read from its source and a scratch save); older
releases cannot resolve the 6.x module paths. sentence-transformers is not needed to
write the files, only to load them.

Equivalence with mixbatch (`Encoder.encode`, `retrieval.encode.encode_texts`):
- Prompts: "query" = query_prefix, "passage" = passage_prefix, and also "document" =
  passage_prefix, because `encode_document` picks the "document" prompt first and ST
  would otherwise fill it with "" (no prefix). Pooling includes the prompt tokens
  (`include_prompt`), as mixbatch's mean does.
- Max lengths: `encode_query` / `encode_document` (ST passes task="query" / "document")
  truncate at query_max_length / passage_max_length exactly as mixbatch does, through
  the Transformer's `query_length` / `document_length`. Plain `encode(...,
  prompt_name=...)` has one max length, `max_seq_length`, set to the larger of the two
  (passage_max_length with the defaults): a query longer than query_max_length tokens
  is then truncated later by ST than by mixbatch, so its embedding differs.
- The pooler: for the architectures that Encoder.load builds without a pooler (BERT,
  RoBERTa, XLM-R, CamemBERT), `model_kwargs: {"add_pooling_layer": false}` makes ST
  build the model the same way. Without it, transformers adds a randomly initialised
  pooler and reports `pooler.dense.*` as MISSING; that pooler would be harmless (ST's
  Transformer module reads last_hidden_state, never pooler_output), but it is noise.

The bytes are deterministic: fixed key order, no timestamps. The version fields record
the format (sentence-transformers 6.2.0) and the installed transformers and torch.
"""

from __future__ import annotations

import json
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_path

# The sentence-transformers release whose save() layout these files copy.
ST_FORMAT_VERSION = "6.2.0"
TRANSFORMER_TYPE = "sentence_transformers.base.modules.transformer.Transformer"
POOLING_TYPE = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"
NORMALIZE_TYPE = "sentence_transformers.base.modules.normalize.Normalize"
POOLING_DIR = "1_Pooling"
NORMALIZE_DIR = "2_Normalize"
ST_FILES = ("modules.json", "sentence_bert_config.json", f"{POOLING_DIR}/config.json",
            f"{NORMALIZE_DIR}/config.json", "config_sentence_transformers.json")
# As mixbatch.model.encoder._POOLER_MODELS (not imported: encoder.py imports this module).
POOLER_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert"})


def check_settings(settings: Any) -> None:
    """Raise MixbatchError naming the `model.*` param unless every setting is usable."""
    names = ("pooling", "query_prefix", "passage_prefix", "query_max_length", "passage_max_length")
    have = {f.name for f in fields(settings)} if hasattr(settings, "__dataclass_fields__") else set()
    if missing := [n for n in names if n not in have]:
        raise MixbatchError(f"encoder settings {settings!r}: missing {', '.join(missing)}; "
                            "pass mixbatch.model.encoder.EncoderSettings")
    if settings.pooling not in ("mean", "cls"):
        raise MixbatchError(f"model.pooling: {settings.pooling!r}; allowed: mean, cls")
    for name in ("query_prefix", "passage_prefix"):
        if not isinstance(getattr(settings, name), str):
            raise MixbatchError(f"model.{name}: {getattr(settings, name)!r}; must be a string (\"\" for none)")
    for name in ("query_max_length", "passage_max_length"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise MixbatchError(f"model.{name}: {value!r}; must be a positive integer (tokens)")


def _json(obj: Any, indent: int, sort_keys: bool = False) -> bytes:
    return (json.dumps(obj, indent=indent, sort_keys=sort_keys) + "\n").encode("utf-8")


def sentence_transformers_files(settings, hidden_size: int, model_type: str,
                                versions: dict[str, str]) -> dict[str, bytes]:
    """{relative path: bytes} of the sentence-transformers files (see the module docstring).

    hidden_size and model_type come from the folder's config.json; versions is
    {"transformers": ..., "pytorch": ...} (the installed ones, see `installed_versions`).
    """
    check_settings(settings)
    s = settings
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": TRANSFORMER_TYPE},
        {"idx": 1, "name": "1", "path": POOLING_DIR, "type": POOLING_TYPE},
        {"idx": 2, "name": "2", "path": NORMALIZE_DIR, "type": NORMALIZE_TYPE},
    ]
    transformer = {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
        "max_seq_length": max(s.query_max_length, s.passage_max_length),
        "query_length": s.query_max_length,
        "document_length": s.passage_max_length,
    }
    if model_type in POOLER_MODEL_TYPES:
        transformer["model_kwargs"] = {"add_pooling_layer": False}
    pooling = {"embedding_dimension": hidden_size, "pooling_mode": s.pooling, "include_prompt": True}
    normalize = {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"}
    model_config = {
        "__version__": {"pytorch": versions["pytorch"], "sentence_transformers": ST_FORMAT_VERSION,
                        "transformers": versions["transformers"]},
        "default_prompt_name": None,
        "model_type": "SentenceTransformer",
        "prompts": {"document": s.passage_prefix, "passage": s.passage_prefix, "query": s.query_prefix},
        "similarity_fn_name": "cosine",
    }
    return {
        "modules.json": _json(modules, 2),
        "sentence_bert_config.json": _json(transformer, 4),
        f"{POOLING_DIR}/config.json": _json(pooling, 4),
        f"{NORMALIZE_DIR}/config.json": _json(normalize, 4),
        "config_sentence_transformers.json": _json(model_config, 2, sort_keys=True),
    }


def installed_versions() -> dict[str, str]:
    """The installed transformers and torch versions, as sentence-transformers records them."""
    return {"transformers": metadata.version("transformers"), "pytorch": metadata.version("torch")}


def write_sentence_transformers_files(folder: str | Path, settings) -> list[Path]:
    """Write the sentence-transformers files into a Hugging Face model folder; return their paths.

    `SentenceTransformer(folder)` then embeds like mixbatch's Encoder (module docstring:
    what matches exactly, and where the max length differs). Each file is written
    atomically; existing ones are replaced.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.exists():
        raise MixbatchError(f"{folder}: not a model folder (no config.json); save the model first")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise MixbatchError(f"{config_path}: not valid JSON ({e})") from None
    hidden_size = config.get("hidden_size")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, int) or hidden_size < 1:
        raise MixbatchError(f"{config_path}: hidden_size {hidden_size!r}; the pooling module needs a positive integer")
    files = sentence_transformers_files(settings, hidden_size, config.get("model_type", ""), installed_versions())
    written = []
    for rel, data in files.items():
        target = folder / rel
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        written.append(target)
    return written
