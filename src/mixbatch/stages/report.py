"""Stage report: the comparison of all runs, with intervals, tests and computed conclusions.

In:  --details results/details/<run>/<dataset>/questions.parquet (per-question LAReQA
     results, what intervals and tests resample), --metrics results/metrics/<run>/<dataset>.json
     (headline numbers), --plots results/plots/<run>/<dataset>/ (per-language and
     language-mix tables), --train results/train/<run>/log.csv; params `grid` (runs,
     seeds, data sets), `shards.languages` (seen languages), `report` and `seed`.
Out: --out results/report.md: the computed conclusions (mixbatch.report.claims), then per
     evaluation set each run's mean over seeds with its interval (Table 1 / Table 2
     layouts; the paper's numbers beside XQuAD-R's only), seen vs unseen languages, every
     pairwise difference with interval and Holm-adjusted p, language bias; Tatoeba;
     MIRACL; training. --assets results/report/: the CSVs behind every table and the
     figures. --headline results/headline.json: every run's headline (for `dvc exp show`).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import pandas as pd

from mixbatch import grid
from mixbatch.data.datasets import TITLES, kind
from mixbatch.io import atomic_dir, atomic_path, write_json
from mixbatch.report import analysis, claims, collect, plots
from mixbatch.report.headline import headline
from mixbatch.report.markdown import fmt_table, interval_table, paper_miracl, paper_rank_distance, paper_table1
from mixbatch.report.stats import PairedRuns, add_holm, specs_of_columns
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)
TABLE1 = ("mo_map", "cr_map", "mul_map")
PAIRWISE = ("mo_map", "cr_map", "mul_map", "rank_distance")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics")
    parser.add_argument("--plots", required=True, type=Path, help="results/plots")
    parser.add_argument("--details", required=True, type=Path, help="results/details")
    parser.add_argument("--train", required=True, type=Path, help="results/train")
    parser.add_argument("--out", required=True, type=Path, help="the Markdown report, e.g. results/report.md")
    parser.add_argument("--assets", required=True, type=Path, help="folder for its CSVs and PNGs, e.g. results/report")
    parser.add_argument("--headline", required=True, type=Path, help="results/headline.json")
    add_params_argument(parser)


def specs_of(tables: dict[str, list[pd.DataFrame]]) -> list:
    """The headline specs that the per-question tables' columns name (score.map_k, recall_ks)."""
    return specs_of_columns(next(iter(tables.values()))[0].columns)


class LareqaSection:
    """One LAReQA evaluation set: tables with intervals, comparisons, figures."""

    def __init__(self, dataset: str, params: dict, dirs: dict[str, Path], tmp: Path, rel: str):
        self.dataset, self.params, self.dirs, self.tmp, self.rel = dataset, params, dirs, tmp, rel
        self.settings = analysis.Settings.from_params(params)
        self.seen = params["shards"]["languages"]
        self.tables = analysis.load_question_tables(dirs["details"], params, dataset)
        self._runs: dict[str, PairedRuns] = {}

    def runs(self, group: str = "all") -> PairedRuns:
        """The runs resampled together for a language group (built once: the pairwise table
        and the claims read the same intervals and tests)."""
        if group not in self._runs:
            self._runs[group] = analysis.paired_runs(self.tables, self.specs, self.settings, self.seen, group)
        return self._runs[group]

    def claim_comparisons(self, pairs: list[tuple[str, str]]) -> pd.DataFrame:
        pairs = [(a, b) for a, b in pairs if a in self.tables and b in self.tables]
        groups = analysis.groups_present(next(iter(self.tables.values())), self.seen)
        metrics = list(dict.fromkeys(c.metric for c in claims.CLAIMS))
        frames = [analysis.compare_runs(self.runs(g), pairs, metrics, g) for g in groups]
        return pd.concat(frames, ignore_index=True).assign(dataset=self.dataset)

    def render(self) -> tuple[list[str], pd.DataFrame | None]:
        d = self.dataset
        lines = [f"## {TITLES[d]}", ""]
        if not self.tables:
            return lines + ["_no per-question results yet_", ""], None
        self.specs = specs_of(self.tables)
        values = analysis.run_values(self.runs("all"))
        self.run_values = values
        values.to_csv(self.tmp / f"{d}_runs.csv", index=False)
        collect.headline_rows(self.dirs["metrics"], self.params, d).to_csv(self.tmp / f"{d}_per_run.csv", index=False)
        described = {c: collect.describe(c, self.params) for c in self.tables}
        names = [s.name for s in self.specs]
        lines += [f"### mAP, mean over seeds [{self._ci()} interval] (Table 1 layout)", "",
                  fmt_table(interval_table(values, described, list(TABLE1))), ""]
        if d == "xquad-r":
            lines += ["Paper (their backbones and training data):", "", fmt_table(paper_table1(d))]
        else:
            lines += ["(No paper numbers beside this set: the paper's MLQA-R numbers are on other question ids.)", ""]
        table2 = [n for n in names if n not in TABLE1]
        lines += ["### Multilingual setting: mAP@k, R@k and language bias (Table 2 layout; rank distance: lower is better)", "",
                  fmt_table(interval_table(values, described, table2, digits={"rank_distance": 1})), ""]
        if d == "xquad-r":
            lines += ["Paper, mean maximum rank distance:", "", fmt_table(paper_rank_distance(d), 1)]
        lines += self._seen_unseen(described) + self._pairwise() + self._figures()
        return lines, values

    def _ci(self) -> str:
        return f"{self.settings.confidence:.0%}"

    def _seen_unseen(self, described) -> list[str]:
        groups = analysis.groups_present(next(iter(self.tables.values())), self.seen)
        if groups == ["all"]:
            return []
        frames = [values[values["metric"].isin(TABLE1)] for values in (analysis.run_values(self.runs(g), g)
                                                                         for g in groups[1:])]
        both = pd.concat(frames, ignore_index=True)
        both.to_csv(self.tmp / f"{self.dataset}_seen_unseen.csv", index=False)
        langs = set(next(iter(self.tables.values()))[0]["q_lang"].unique())
        out = ["### Seen vs unseen question languages (macro mAP over the group's languages)", "",
               f"Seen: {' '.join(sorted(langs & set(self.seen)))}; unseen: {' '.join(sorted(langs - set(self.seen)))}.", ""]
        for g, frame in zip(groups[1:], frames):
            out += [f"{g}:", "", fmt_table(interval_table(frame, described, list(TABLE1))), ""]
        return out

    def _pairwise(self) -> list[str]:
        pairs = analysis.all_pairs(self.tables)
        if not pairs:
            return []
        metrics = [s.name for s in self.specs if s.name in PAIRWISE]
        comp = add_holm(analysis.compare_runs(self.runs("all"), pairs, metrics))
        comp.to_csv(self.tmp / f"{self.dataset}_pairwise.csv", index=False)
        shown = comp.assign(pair=comp["a"] + " - " + comp["b"],
                            cell=[f"{r.diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] p={r.p_holm:.3g}" for r in comp.itertuples()])
        wide = shown.pivot(index="pair", columns="metric", values="cell").reindex(
            columns=[m for m in PAIRWISE if m in set(comp["metric"])], index=list(dict.fromkeys(shown["pair"])))
        return ["### Differences between runs (A - B, mean over seeds)", "",
                f"Interval: {self._ci()} two-level bootstrap (xling_ids and seeds resampled, "
                f"{self.settings.n_resamples} resamples); p: paired sign-flip randomisation test over xling_ids "
                f"({self.settings.n_permutations} flips), Holm-adjusted over the {len(comp)} tests of this table.", "",
                fmt_table(wide.reset_index()), ""]

    def _figures(self) -> list[str]:
        d, out = self.dataset, []
        per_lang = collect.per_language(self.dirs["plots"], self.params, d, "mul_map")
        unseen = set(per_lang.index) - set(self.seen)
        if not per_lang.empty:
            per_lang.to_csv(self.tmp / f"{d}_per_lang_mul_map.csv")
            png = plots.per_lang_bars(per_lang, f"{d}: Mul. mAP by question language (mean over seeds)", "mAP",
                                      self.tmp / f"{d}_per_lang.png", unseen=unseen)
            out += [f"![per-language Mul. mAP]({self.rel}/{png.name})", ""]
        mix = collect.language_mix(self.dirs["plots"], self.params, d)
        if not mix.empty:
            mix.to_csv(self.tmp / f"{d}_language_mix.csv", index=False)
            png = plots.own_language_share(mix, f"{d}: top-{self.params['score']['mix_k']} share in the question's "
                                           "language (Mul.)", self.tmp / f"{d}_language_bias.png", unseen)
            out += ["### Language bias: the question's own language in the top k", "",
                    "Bars: share of each run's Mul. top k in the question's language (mean over questions and seeds); "
                    "marks: that language's share of the relevant candidates. Full mix: "
                    f"`{self.rel}/{d}_language_mix.csv`.", "", f"![language bias]({self.rel}/{png.name})", ""]
        sweep = self._sweep_points()
        if len(sweep) and sweep["alpha"].nunique() >= 3:
            png = plots.alpha_sweep(sweep, d, self.tmp / f"{d}_alpha_sweep.png")
            out += [f"![alpha sweep]({self.rel}/{png.name})", ""]
        return out

    def _sweep_points(self) -> pd.DataFrame:
        """(alpha, Mo., Cr., Mul.) per run with a defined alpha: X-Y is 0, X-X is 1, hybrid its own."""
        wide = self.run_values.pivot(index="run", columns="metric", values="value")
        runs = self.params["grid"]["runs"]
        alpha = {r: {"xx": 1.0, "xy": 0.0}.get(runs[r]["sampling"], runs[r].get("alpha"))
                 for r in wide.index if r in runs and runs[r]["sampling"] in ("xx", "xy", "hybrid")}
        return wide.loc[list(alpha)].assign(alpha=list(alpha.values())).reset_index()


def tatoeba_section(metrics_dir: Path, params: dict, tmp: Path) -> tuple[list[str], pd.DataFrame]:
    rows = collect.headline_rows(metrics_dir, params, "tatoeba")
    lines = [f"## {TITLES['tatoeba']}", ""]
    if rows.empty:
        return lines + ["_no results yet_", ""], rows
    summary = collect.seed_summary(rows, ["acc", "xx->en", "en->xx"])
    summary.to_csv(tmp / "tatoeba.csv", index=False)
    rows.to_csv(tmp / "tatoeba_per_run.csv", index=False)
    return lines + [f"Mean of both directions over {params['score']['tatoeba_headline']} languages present; "
                    "mean and standard deviation over seeds.", "", fmt_table(summary), ""], summary


def miracl_section(metrics_dir: Path, params: dict, tmp: Path) -> list[str]:
    rows = collect.headline_rows(metrics_dir, params, "miracl")
    rows.to_csv(tmp / "miracl.csv", index=False)
    return [f"## {TITLES['miracl']}", "", fmt_table(rows), "Paper:", "", fmt_table(paper_miracl())]


def training_section(train_dir: Path, params: dict, tmp: Path, rel: str) -> list[str]:
    logs = collect.read_train_logs(train_dir, params)
    if not logs:
        return []
    config_of = {r.name: r.config for r in grid.trained_runs(params)}
    png = plots.loss_curves(logs, config_of, tmp / "loss_curves.png")
    return ["## Training", "", f"![loss curves]({rel}/{png.name})", ""]


def header(params: dict) -> list[str]:
    g = params["grid"]
    runs = ", ".join(f"{name} ({collect.describe(name, params)['sampling']}"
                     + (f", alpha {cfg['alpha']}" if cfg["sampling"] == "hybrid" else "") + ")"
                     for name, cfg in g["runs"].items())
    r = params["report"]
    return ["# mixbatch report", "",
            f"Runs: {'zeroshot (the untrained model), ' if g['zeroshot'] else ''}{runs}; each trained with seeds "
            f"{', '.join(map(str, g['seeds']))}. Training languages (seen): {' '.join(params['shards']['languages'])}.", "",
            f"Values are means over seeds with {r['confidence']:.0%} intervals from a two-level bootstrap that "
            f"resamples xling_ids (all translations of a question together) and seeds ({r['bootstrap_resamples']} "
            f"resamples, seed {params['seed']}); differences carry a paired randomisation test. Numbers only: every "
            "statement below is computed from them.", ""]


def conclusions(verdicts: pd.DataFrame) -> list[str]:
    if verdicts.empty:
        return ["## Conclusions", "", "_no LAReQA results to decide the paper's claims on_", ""]
    shown = verdicts.rename(columns={"group": "question languages"})
    return ["## Conclusions (computed)", "",
            "Each of the paper's claims per evaluation set and question-language group: supported when the claimed "
            "run beats every other named run with the interval of the difference excluding 0 and Holm-adjusted "
            "p < 1 - confidence (Holm over all the tests in this table); contradicted when another run significantly "
            "beats it; not decided otherwise.", "", fmt_table(shown), ""]


def run(dirs: dict[str, Path], out: Path, assets: Path, headline_path: Path, params: dict) -> Path:
    """Write the report, its assets and the headline file; dirs: metrics, plots, details, train."""
    rel = os.path.relpath(assets, out.parent)
    confidence = params["report"]["confidence"]
    body, claim_frames, values = [], [], {}
    missing = collect.missing(dirs["metrics"], params)
    with atomic_dir(assets) as tmp:
        for dataset in params["grid"]["datasets"]:
            if kind(dataset) == "lareqa":
                section = LareqaSection(dataset, params, dirs, tmp, rel)
                lines, values[dataset] = section.render()
                if values[dataset] is not None:
                    claim_frames.append(section.claim_comparisons(claims.needed_pairs(params["grid"]["runs"])))
            elif kind(dataset) == "tatoeba":
                lines, values[dataset] = tatoeba_section(dirs["metrics"], params, tmp)
            else:
                lines = miracl_section(dirs["metrics"], params, tmp)
            body += lines
        comparisons = pd.concat(claim_frames, ignore_index=True) if claim_frames else pd.DataFrame()
        verdicts = claims.decide(comparisons, params["grid"]["runs"], confidence) if len(comparisons) else pd.DataFrame()
        verdicts.to_csv(tmp / "conclusions.csv", index=False)
        body += training_section(dirs["train"], params, tmp, rel)
    lines = header(params) + ([f"Missing metrics (not run yet or failed): {', '.join(missing)}", ""] if missing else [])
    with atomic_path(out) as tmp_md:
        tmp_md.write_text("\n".join(lines + conclusions(verdicts) + body), encoding="utf-8")
    write_json(headline_path, headline(values))
    log.info("wrote %s, %s/ and %s", out, assets, headline_path)
    return out


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "grid", "split", "shards", "score", "report")
    if Path(args.params).resolve() == Path("params.yaml").resolve() and Path("dvc.yaml").exists():
        from mixbatch.pipeline import dvcfile

        dvcfile.check(params, Path("dvc.yaml"))  # a grid change must not go unnoticed by DVC
    dirs = {"metrics": args.metrics, "plots": args.plots, "details": args.details, "train": args.train}
    run(dirs, args.out, args.assets, args.headline, params)
