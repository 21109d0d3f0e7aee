"""The data sets mixbatch knows, their kinds and languages: the one place their names live.

Two lists, because fetching and evaluating are different things:
- SOURCES: what `mixbatch download` fetches (raw files, sha256-pinned; mMARCO from the
  Hugging Face hub) and `align` parses (all but PAIR_SOURCES, which `split` converts
  straight into training pairs).
- EVALUATIONS: what `mixbatch encode` / `score` evaluate. `mlqa-r-valid` is MLQA-R
  restricted to the question ids held out of training by `mixbatch split` (the in-domain
  evaluation that never scores a trained-on id); the others are their source's tables.
"""

from __future__ import annotations

from mixbatch.errors import MixbatchError

# LAReQA-format data sets: one <lang>.json per language (PAPER.md, "Evaluation").
LAREQA_LANGUAGES: dict[str, tuple[str, ...]] = {
    "xquad-r": ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
    "mlqa-r": ("ar", "de", "en", "es", "hi", "vi", "zh"),
}
MIRACL_LANGUAGES = ("ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko",
                    "ru", "sw", "te", "th", "yo", "zh")
SOURCES = ("xquad-r", "mlqa-r", "tatoeba", "miracl", "mmarco")
# Sources already in the training-pair format once fetched (mixbatch.data.mmarco).
PAIR_SOURCES = ("mmarco",)
# Training data sets: sources whose train/valid split feeds the batch shards.
TRAINABLE = tuple(LAREQA_LANGUAGES) + PAIR_SOURCES
HELDOUT_SUFFIX = "-valid"  # the held-out evaluation set of a training data set
EVALUATIONS = ("xquad-r", "mlqa-r" + HELDOUT_SUFFIX, "tatoeba", "miracl")
TITLES = {
    "xquad-r": "XQuAD-R (test set; zero-shot: not trained on)",
    "mlqa-r-valid": "MLQA-R held-out validation ids (in-domain; never trained on)",
    "tatoeba": "Tatoeba (sentence retrieval, accuracy@1)",
    "miracl": "MIRACL dev",
}


def heldout_name(training_set: str) -> str:
    """The evaluation data set of a training set's held-out ids (mlqa-r -> mlqa-r-valid)."""
    return training_set + HELDOUT_SUFFIX


def source_of(dataset: str) -> str:
    """The source data set an evaluation set is read from (mlqa-r-valid -> mlqa-r)."""
    if dataset.endswith(HELDOUT_SUFFIX) and dataset[: -len(HELDOUT_SUFFIX)] in TRAINABLE:
        return dataset[: -len(HELDOUT_SUFFIX)]
    return dataset


def kind(dataset: str) -> str:
    """"lareqa" (Mo./Cr./Mul. retrieval), "tatoeba" or "miracl"."""
    source = source_of(dataset)
    if source in LAREQA_LANGUAGES:
        return "lareqa"
    if source in ("tatoeba", "miracl"):
        return source
    raise MixbatchError(f"unknown evaluation set {dataset!r}; known: {', '.join(EVALUATIONS)}")
