"""The dual encoder: a Hugging Face transformer plus pooling, L2 normalisation, E5-style
prefixes and separate query / passage max lengths. One set of weights encodes both sides.

Params (section `model`): pooling (mean | cls), query_prefix, passage_prefix,
query_max_length, passage_max_length. Padding is dynamic (to the longest item of each
call), so short batches cost short forwards; `pad_multiple` rounds that length up (on CPU
every new sequence length makes oneDNN build new matmul kernels, a few ms each, so a few
padding tokens buy a small set of shapes that stay cached).
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from mixbatch.errors import MixbatchError

SETTINGS_FILE = "mixbatch_encoder.json"
# Architectures whose constructor takes add_pooling_layer: we pool ourselves, so a pooler
# would be dead weight that is never trained.
_POOLER_MODELS = {"bert", "roberta", "xlm-roberta", "camembert"}
# Config keys of the dropout rates (BERT, RoBERTa and XLM-R name them so).
_DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob")


@dataclass(frozen=True)
class EncoderSettings:
    pooling: str = "mean"
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    query_max_length: int = 64
    passage_max_length: int = 128

    @classmethod
    def from_params(cls, model_params: dict[str, Any]) -> "EncoderSettings":
        keys = cls.__dataclass_fields__
        settings = cls(**{k: v for k, v in model_params.items() if k in keys})
        if settings.pooling not in ("mean", "cls"):
            raise MixbatchError(f"model.pooling: {settings.pooling!r}; allowed: mean, cls")
        return settings


def write_encoder_files(folder: Path, settings: EncoderSettings) -> None:
    """The encoder settings beside a model's weights: mixbatch's own file (read by
    `Encoder.load`) and the sentence-transformers configuration (mixbatch.model.st_format)."""
    from mixbatch.model.st_format import write_sentence_transformers_files

    (Path(folder) / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2) + "\n")
    write_sentence_transformers_files(folder, settings)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Sentence vectors [B, H] from token states [B, T, H]: masked mean, or the first token."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)


class Encoder(torch.nn.Module):
    """transformer -> pool -> L2-normalise. forward() takes tokenised input; encode() text."""

    def __init__(self, model: torch.nn.Module, tokenizer, settings: EncoderSettings, pad_multiple: int | None = None):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.pad_multiple = pad_multiple
        self._saved_config: dict[str, Any] = {}  # config values overridden for training only

    @classmethod
    def load(cls, folder: str | Path, settings: EncoderSettings | None = None, *,
             attn_implementation: str | None = None, dropout: float | None = None) -> "Encoder":
        """Load a model folder; settings default to the folder's saved ones, else the defaults.

        attn_implementation: transformers' attention kernel ("eager", "sdpa"; None = its
        default). dropout: hidden and attention-probability dropout for training (None =
        the model's own); the folder's values are restored in anything `save` writes.
        """
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        folder = Path(folder)
        if not (folder / "config.json").exists():
            raise MixbatchError(f"{folder}: not a model folder (no config.json); run `mixbatch prepare-model`")
        if settings is None:
            saved = folder / SETTINGS_FILE
            settings = EncoderSettings(**json.loads(saved.read_text())) if saved.exists() else EncoderSettings()
        config = AutoConfig.from_pretrained(folder)
        kwargs: dict[str, Any] = {"add_pooling_layer": False} if config.model_type in _POOLER_MODELS else {}
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        overridden = {}
        if dropout is not None:
            keys = [k for k in _DROPOUT_KEYS if hasattr(config, k)]
            if not keys:
                raise MixbatchError(f"train.dropout: {folder}'s config ({config.model_type}) has none of "
                                    f"{', '.join(_DROPOUT_KEYS)}; leave train.dropout null for this model")
            overridden = {k: getattr(config, k) for k in keys}
            kwargs.update({k: float(dropout) for k in keys})
        model = AutoModel.from_pretrained(folder, **kwargs)
        encoder = cls(model, AutoTokenizer.from_pretrained(folder), settings)
        encoder._saved_config = overridden
        return encoder

    def save(self, folder: str | Path) -> None:
        """Write weights (safetensors), tokenizer and the encoder settings into `folder`;
        config values overridden for training (dropout) are written as the folder had them."""
        folder = Path(folder)
        changed = {k: getattr(self.model.config, k) for k in self._saved_config}
        for k, v in self._saved_config.items():
            setattr(self.model.config, k, v)
        try:
            self.model.save_pretrained(folder)
        finally:
            for k, v in changed.items():
                setattr(self.model.config, k, v)
        self.tokenizer.save_pretrained(folder)
        write_encoder_files(folder, self.settings)

    def compute_copy(self, dtype: torch.dtype) -> "Encoder":
        """A copy whose weights are `dtype` (e.g. bf16 for fast matmuls), sharing the
        tokenizer; trainable weights keep requires_grad. For fp32 this encoder itself."""
        if dtype == torch.float32:
            return self
        clone = Encoder(copy.deepcopy(self.model).to(dtype), self.tokenizer, self.settings, self.pad_multiple)
        clone.train(self.training)
        return clone

    def side_settings(self, side: str) -> tuple[str, int]:
        """(prefix, max length) of queries (side="query") or passages (side="passage")."""
        s = self.settings
        return {
            "query": (s.query_prefix, s.query_max_length),
            "passage": (s.passage_prefix, s.passage_max_length),
        }[side]

    def tokenize(self, texts: Sequence[str], side: str) -> dict[str, torch.Tensor]:
        """Prefix and tokenise queries (side="query") or passages (side="passage")."""
        prefix, max_length = self.side_settings(side)
        batch = self.tokenizer([prefix + t for t in texts], padding="longest", truncation=True,
                               max_length=max_length, return_tensors="pt", pad_to_multiple_of=self.pad_multiple)
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        emb = pool(hidden, attention_mask, self.settings.pooling)
        if emb.dtype in (torch.float16, torch.bfloat16):  # autocast: the loss runs in fp32
            emb = emb.float()
        return F.normalize(emb, dim=-1)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def embed(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """forward() on tokenised features, moved to the model's device."""
        return self(**{k: v.to(self.device, non_blocking=True) for k, v in features.items()})

    @torch.no_grad()
    def encode(self, texts: Sequence[str], side: str, batch_size: int = 64) -> torch.Tensor:
        """Embeddings [N, H] (float32, CPU, unit length) of texts, in eval mode.

        Texts are sorted by length before batching so that padding stays short.
        """
        was_training = self.training
        self.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty(len(texts), self.model.config.hidden_size)
        for a in range(0, len(order), batch_size):
            idx = order[a:a + batch_size]
            out[idx] = self.embed(self.tokenize([texts[i] for i in idx], side)).cpu()
        self.train(was_training)
        return out

    def freeze_word_embeddings(self) -> int:
        """Stop training the input embedding matrix; return the number of frozen weights."""
        weight = self.model.get_input_embeddings().weight
        weight.requires_grad_(False)
        return weight.numel()
