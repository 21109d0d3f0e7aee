"""The evaluation and training data sets mixbatch knows, and their languages."""

from __future__ import annotations

from mixbatch.errors import MixbatchError

# LAReQA-format data sets: one <lang>.json per language (PAPER.md, "Evaluation").
LAREQA_LANGUAGES: dict[str, tuple[str, ...]] = {
    "xquad-r": ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
    "mlqa-r": ("ar", "de", "en", "es", "hi", "vi", "zh"),
}
LAREQA_DATASETS = tuple(LAREQA_LANGUAGES)
MIRACL_LANGUAGES = ("ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko",
                    "ru", "sw", "te", "th", "yo", "zh")
DATASETS = ("xquad-r", "mlqa-r", "tatoeba", "miracl")


def lareqa_languages(dataset: str) -> tuple[str, ...]:
    if dataset not in LAREQA_LANGUAGES:
        raise MixbatchError(
            f"{dataset!r} is not a LAReQA-format data set; known: {', '.join(LAREQA_LANGUAGES)}"
        )
    return LAREQA_LANGUAGES[dataset]
