"""`mixbatch pipeline`: write dvc.yaml from the stage table and the grid in params.yaml.

In:  params.yaml (`grid`, `split.datasets`: which jobs exist), the stage table
     (mixbatch.pipeline.table) and each stage's code (its import closure).
Out: dvc.yaml (atomically). With --check nothing is written: exit code 2 and a message
     when dvc.yaml is not what the table and params give (run `mixbatch pipeline`).
     With --jobs, one line per job: its name, then its code dependencies.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mixbatch.pipeline import dvcfile
from mixbatch.pipeline.table import STAGES, jobs
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dvc-yaml", type=Path, default=Path("dvc.yaml"), help="the file to write or check")
    parser.add_argument("--check", action="store_true", help="only check that it is current")
    parser.add_argument("--jobs", action="store_true", help="list the jobs and each stage's code dependencies")
    add_params_argument(parser)


def main(args: argparse.Namespace) -> None:
    params = load_section(args)
    if args.jobs:
        for name, stage in STAGES.items():
            print(f"{name}: {' '.join(stage.code())}")
        for job in jobs(params):
            print(job.name)
        return
    if args.check:
        dvcfile.check(params, args.dvc_yaml)
        log.info("%s is current (%d stages)", args.dvc_yaml, len(jobs(params)))
        return
    dvcfile.write(params, args.dvc_yaml)
    log.info("wrote %s (%d stages)", args.dvc_yaml, len(jobs(params)))
