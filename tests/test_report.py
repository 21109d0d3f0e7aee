"""The grid, the report (intervals, comparisons, computed conclusions, figures, headline
file) and `mixbatch compare`, on synthetic score outputs with known effects."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from mixbatch import grid
from mixbatch.config import validate_params
from mixbatch.errors import MixbatchError
from mixbatch.report import stats
from mixbatch.report.compare import compare_folders, headlines
from mixbatch.stages import report
from report_fixture import SEEN, question_table, write_results

RUNS = {"zeroshot": [None], "xx": [1, 2], "xy": [1, 2], "hybrid": [1, 2]}


def _params(**grid_overrides):
    g = {"runs": {"xx": {"sampling": "xx"}, "xy": {"sampling": "xy"}, "hybrid": {"sampling": "hybrid", "alpha": 0.5}},
         "seeds": [1, 2], "datasets": ["xquad-r", "tatoeba"], **grid_overrides}
    return validate_params({"grid": g, "shards": {"languages": SEEN}, "report": {"bootstrap_resamples": 300}})


def _run(root, params):
    dirs = {k: root / k for k in ("metrics", "plots", "details", "train")}
    report.run(dirs, root / "report.md", root / "report", root / "headline.json", params)
    return (root / "report.md").read_text()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = write_results(tmp_path_factory.mktemp("results"), RUNS)
    return root, _run(root, _params())


def test_grid_runs_seeds_and_names():
    params = _params()
    assert [r.name for r in grid.all_runs(params)] == ["zeroshot", "xx-s1", "xx-s2", "xy-s1", "xy-s2",
                                                      "hybrid-s1", "hybrid-s2"]
    assert grid.parse_run_name("hybrid-s13") == grid.Run("hybrid", 13)
    assert grid.parse_run_name("zeroshot") == grid.Run("zeroshot", None)
    assert grid.source_datasets(_params(datasets=["mlqa-r-valid", "tatoeba"])) == ["mlqa-r", "tatoeba"]
    with pytest.raises(MixbatchError, match="run 'nope-s3' is not in the grid"):
        grid.find_run(params, "nope-s3")
    with pytest.raises(MixbatchError, match="may not name a run 'zeroshot'"):
        grid.trained_runs(validate_params({"grid": {"runs": {"zeroshot": {"sampling": "xx"}}}}))


def test_run_values_are_seed_means_of_the_per_question_headlines(built):
    root, _ = built
    runs = pd.read_csv(root / "report" / "xquad-r_runs.csv")
    hybrid = runs[(runs["run"] == "hybrid") & (runs["metric"] == "mo_map")].iloc[0]
    specs = stats.headline_specs()
    by_seed = [stats.headline_values(question_table("hybrid", s), specs)["mo_map"] for s in (1, 2)]
    assert hybrid["value"] == pytest.approx(sum(by_seed) / 2)
    assert hybrid["ci_low"] < hybrid["value"] < hybrid["ci_high"] and hybrid["n_seeds"] == 2
    assert set(runs["run"]) == {"zeroshot", "xx", "xy", "hybrid"}


def test_conclusions_are_computed_from_the_tests(built):
    root, md = built
    verdicts = pd.read_csv(root / "report" / "conclusions.csv")
    every = verdicts[verdicts["group"] == "all"].set_index("claim")["verdict"].to_dict()
    # the fixture's effects: xx best Mo., xy best Cr., hybrid best Mul. and least biased
    assert set(every.values()) == {"supported"}
    assert set(verdicts["group"]) == {"all", "seen", "unseen"}
    assert "## Conclusions (computed)" in md and "supported" in md


def test_a_claim_the_data_contradict_is_contradicted(tmp_path, monkeypatch):
    import report_fixture

    monkeypatch.setitem(report_fixture.EFFECTS, "xx", (0.0, 0.05, 0.05, 300.0))  # xx now worst monolingually
    root = write_results(tmp_path, RUNS)
    _run(root, _params())
    verdicts = pd.read_csv(root / "report" / "conclusions.csv").set_index(["claim", "group"])["verdict"]
    assert verdicts[("X-X is best monolingually (Mo. mAP)", "all")] == "contradicted"


def test_equal_runs_decide_nothing(tmp_path, monkeypatch):
    import report_fixture

    for run in ("xx", "xy", "hybrid"):
        monkeypatch.setitem(report_fixture.EFFECTS, run, (0.1, 0.1, 0.1, 300.0))
    root = write_results(tmp_path, RUNS)
    _run(root, _params())
    verdicts = pd.read_csv(root / "report" / "conclusions.csv")
    assert set(verdicts["verdict"]) == {"not decided"}


def test_report_tables_intervals_pairwise_and_figures(built):
    root, md = built
    hybrid_rows = [line for line in md.splitlines() if line.startswith("| hybrid ") and "| Hybrid " in line]
    assert hybrid_rows and all(re.search(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", row) for row in hybrid_rows[:1])
    assert "LaBSE" in md and "0.682" in md  # the paper's Table 1 beside XQuAD-R
    pairwise = pd.read_csv(root / "report" / "xquad-r_pairwise.csv")
    assert len(pairwise) == 6 * 4 and "p_holm" in pairwise  # 6 pairs x 4 metrics, Holm over the table
    row = pairwise[(pairwise["a"] == "xx") & (pairwise["b"] == "hybrid") & (pairwise["metric"] == "mul_map")].iloc[0]
    assert row["ci_high"] < 0 and row["p_holm"] < 0.05
    assert "Seen: de en; unseen: th." in md
    for png in ("xquad-r_per_lang.png", "xquad-r_language_bias.png", "loss_curves.png", "xquad-r_alpha_sweep.png"):
        assert (root / "report" / png).read_bytes()[:4] == b"\x89PNG", png
    tatoeba = pd.read_csv(root / "report" / "tatoeba.csv").set_index("run")
    assert tatoeba.loc["xx", "n_seeds"] == 2 and tatoeba.loc["xx", "acc"] == pytest.approx(0.82)


def test_headline_file_puts_every_runs_mul_map_first(built):
    root, _ = built
    headline = json.loads((root / "headline.json").read_text())
    assert list(headline)[0] == "mul_map" and list(headline["mul_map"]) == ["zeroshot", "xx", "xy", "hybrid"]
    assert headline["dataset"] == "xquad-r"
    assert headline["ci"]["mul_map"]["hybrid"]["lo"] < headline["mul_map"]["hybrid"] < headline["ci"]["mul_map"]["hybrid"]["hi"]
    assert set(headline["tatoeba"]["acc"]) == {"zeroshot", "xx", "xy", "hybrid"}


def test_report_names_missing_metrics(tmp_path):
    root = write_results(tmp_path, {k: v for k, v in RUNS.items() if k != "xy"})
    md = _run(root, _params())
    assert "Missing metrics (not run yet or failed): xy-s1/xquad-r, xy-s1/tatoeba, xy-s2/xquad-r" in md
    verdicts = pd.read_csv(root / "report" / "conclusions.csv")
    assert set(verdicts["verdict"]) <= {"not decided", "supported"}


def test_no_paper_numbers_beside_the_held_out_mlqa_r(tmp_path):
    root = write_results(tmp_path, RUNS, dataset="mlqa-r-valid")
    md = _run(root, _params(datasets=["mlqa-r-valid"]))
    assert "MLQA-R held-out validation ids" in md and "LaBSE" not in md


def test_compare_two_result_folders_gives_differences_with_intervals(tmp_path, monkeypatch):
    import report_fixture

    a = write_results(tmp_path / "a", {"hybrid": [1, 2]})
    monkeypatch.setitem(report_fixture.EFFECTS, "hybrid", (0.12, 0.12, 0.30, 100.0))  # B: +0.10 Mul.
    b = write_results(tmp_path / "b", {"hybrid": [1, 2]})
    table = compare_folders(a, b, n_resamples=300).set_index("metric")
    assert table.loc["mul_map", "diff"] == pytest.approx(0.10, abs=0.02)
    assert table.loc["mul_map", "ci_low"] > 0 and table.loc["mul_map", "p_holm"] < 0.05
    assert table.loc["mo_map", "ci_low"] < 0 < table.loc["mo_map", "ci_high"]
    same = compare_folders(a, a, n_resamples=300).set_index("metric")
    assert (same["diff"] == 0).all() and (same["p_value"] == 1).all()
    with pytest.raises(MixbatchError, match="not a results folder"):
        compare_folders(a, tmp_path / "absent")


def test_compare_cli_and_headlines(tmp_path, capsys):
    from mixbatch.cli import main as cli

    a = write_results(tmp_path / "a", {"xx": [1]})
    assert cli(["compare", str(a), str(a)]) == 0
    assert "mul_map" in capsys.readouterr().out
    table = headlines([a])
    assert table.loc[0, "run"] == "xx-s1" and "xquad-r mul_map" in table
    assert cli(["compare", str(a)]) == 2
    assert "give two result folders" in capsys.readouterr().err


def test_compare_reads_dvc_exp_show_json(monkeypatch):
    """The shape of `dvc exp show --json` (DVC 3): workspace, commits, their experiments."""
    import subprocess as sp

    headline = {"mul_map": {"xx": 0.5, "hybrid": 0.6}, "ci": {"mul_map": {"xx": {"lo": 0.4, "hi": 0.6}}}}
    metrics = {"results/headline.json": {"data": headline}}
    shown = [{"rev": "workspace", "name": None, "data": {"metrics": metrics}, "experiments": None},
             {"rev": "abc1234def", "name": "main", "data": {"metrics": {"results/headline.json": {"error": {}}}},
              "experiments": [{"revs": [{"rev": "fff0000aaa", "name": "alpha03", "experiments": None,
                                         "data": {"metrics": metrics}}]}]}]
    monkeypatch.setattr(sp, "run", lambda *a, **k: sp.CompletedProcess(a, 0, json.dumps(shown), ""))
    table = headlines([], dvc_experiments=True)
    assert table[["source", "run"]].values.tolist() == [["workspace", "xx"], ["workspace", "hybrid"],
                                                         ["alpha03", "xx"], ["alpha03", "hybrid"]]
    assert table["mul_map"].tolist() == [0.5, 0.6, 0.5, 0.6]


def test_claims_and_the_pairwise_table_read_the_same_tests(built):
    """One resampling per data set and group: the conclusions' evidence quotes exactly the
    pairwise table's differences, intervals and unadjusted p for the same pair and metric."""
    root, _ = built
    pairwise = pd.read_csv(root / "report" / "xquad-r_pairwise.csv").set_index(["a", "b", "metric"])
    verdicts = pd.read_csv(root / "report" / "conclusions.csv")
    mul = verdicts[(verdicts["group"] == "all") & verdicts["claim"].str.startswith("Hybrid is best")].iloc[0]
    quoted = re.search(r"hybrid - xx: ([+-][\d.]+) \[([+-][\d.]+), ([+-][\d.]+)\]", mul["evidence"])
    row = pairwise.loc[("xx", "hybrid", "mul_map")]  # the table lists each pair once, in grid order
    expected = (-row["diff"], -row["ci_high"], -row["ci_low"])
    assert [float(v) for v in quoted.groups()] == pytest.approx(expected, abs=5e-5)
