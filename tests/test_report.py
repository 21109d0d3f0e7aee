"""The experiment grid, the report tables and figures, and `mixbatch compare`, on fixture metrics."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mixbatch.config import validate_params
from mixbatch.errors import MixbatchError
from mixbatch.grid import expand_runs, run_config, trained_runs, workflow_targets
from mixbatch.report.compare import compare
from mixbatch.stages import report


def _lareqa(mo, cr, mul, rd, per_lang):
    return {"mo": {"map": mo}, "cr": {"map": cr},
            "mul": {"map": mul, "map@20": mul - 0.01, "r@1": 0.5, "r@10": 0.9, "rank_distance": rd},
            "per_lang": {l: {"mul_map": v, "mo_map": v + 0.1, "cr_map": v - 0.1} for l, v in per_lang.items()},
            "pairs": {}}


@pytest.fixture
def results(tmp_path):
    """results/metrics for four runs on xquad-r and tatoeba, and training logs for three."""
    fixture = {
        "zeroshot": (0.60, 0.40, 0.30, 900.0, {"en": 0.4, "de": 0.3, "th": 0.2}),
        "xx": (0.80, 0.60, 0.50, 400.0, {"en": 0.6, "de": 0.5, "th": 0.4}),
        "xy": (0.70, 0.70, 0.55, 300.0, {"en": 0.6, "de": 0.6, "th": 0.45}),
        "hybrid": (0.79, 0.69, 0.56, 290.0, {"en": 0.65, "de": 0.6, "th": 0.43}),
    }
    for i, (run, values) in enumerate(fixture.items()):
        folder = tmp_path / "metrics" / run
        folder.mkdir(parents=True)
        (folder / "xquad-r.json").write_text(json.dumps(_lareqa(*values)))
        tat = {"mean": {"mean": 0.5 + i / 10}, "mean_xtreme_r": {"mean": 0.5 + i / 10, "xx->en": 0.5, "en->xx": 0.5, "n_languages": 3},
               "mean_all": {"mean": 0.4, "n_languages": 112}, "per_lang": {}}
        (folder / "tatoeba.json").write_text(json.dumps(tat))
        if run != "zeroshot":
            (tmp_path / "train" / run).mkdir(parents=True)
            pd.DataFrame({"step": [0, 10, 20], "loss": [None, 1.0, 0.5], "val_loss": [1.5, 0.9, None]}).to_csv(
                tmp_path / "train" / run / "log.csv", index=False)
    return tmp_path


def _params(**overrides):
    params = validate_params({"encode": {"datasets": ["xquad-r", "tatoeba"]}, "shards": {"languages": ["en", "de"]}})
    params.update(overrides)
    return params


def test_grid_default_and_sweep():
    params = validate_params({})
    assert list(expand_runs(params)) == ["zeroshot", "xx", "xy", "hybrid"]
    assert trained_runs(params) == ["xx", "xy", "hybrid"]
    params = validate_params({"sweep": {"alphas": [0, 0.25, 1]}})
    runs = expand_runs(params)
    assert list(runs)[4:] == ["hybrid-a0", "hybrid-a0.25", "hybrid-a1"]
    assert runs["hybrid-a0.25"] == {"sampling": "hybrid", "alpha": 0.25}
    with pytest.raises(MixbatchError, match="run 'nope' is not in params `runs`"):
        run_config(params, "nope")
    with pytest.raises(MixbatchError, match="sweep.alphas entry 0 gives run 'hybrid-a0'"):
        expand_runs(validate_params({"runs": {"hybrid-a0": {"sampling": "xx"}}, "sweep": {"alphas": [0]}}))
    targets = workflow_targets(params)
    assert len(targets) == 4 + 2 * 7 * 2 + 1  # 4 aligned data sets, metrics + index for 7 runs x 2, the report
    assert "results/metrics/hybrid-a0.25/tatoeba.json" in targets and "results/index/zeroshot/xquad-r" in targets


def test_report_tables_and_figures(results):
    md_path = report.run(results / "metrics", results / "train", results / "report.md", results / "report", _params())
    md = md_path.read_text()
    table = pd.read_csv(results / "report" / "xquad-r.csv").set_index("run")
    assert table.loc["hybrid", "mul_map"] == 0.56 and table.loc["xy", "cr_map"] == 0.70
    assert table.loc["xx", "rank_distance"] == 400.0 and table.loc["hybrid", "alpha"] == 0.5
    assert table.loc["xx", "sampling"] == "X-X" and table.loc["zeroshot", "sampling"] == "none (zero-shot)"
    # Seen (en, de) vs unseen (th): hybrid's seen Mul. mAP is the mean of 0.65 and 0.6
    split = pd.read_csv(results / "report" / "xquad-r_seen_unseen.csv").set_index("run")
    assert split.loc["hybrid", "seen_mul_map"] == pytest.approx(0.625)
    assert split.loc["hybrid", "unseen_mul_map"] == pytest.approx(0.43)
    assert "| hybrid   | Hybrid           | 0.500   | 0.790    | 0.690    | 0.560     |" in md
    assert "LaBSE" in md and "0.682" in md  # the paper's Table 1 beside ours
    # xx (alpha 1), xy (alpha 0) and hybrid (0.5) make a three-point sweep
    for png in ("xquad-r_per_lang.png", "xquad-r_alpha_sweep.png", "loss_curves.png"):
        assert (results / "report" / png).read_bytes()[:4] == b"\x89PNG"
    assert "report/xquad-r_alpha_sweep.png" in md
    tat = pd.read_csv(results / "report" / "tatoeba.csv").set_index("run")
    assert tat.loc["xy", "acc_mean_xtreme_r"] == pytest.approx(0.7)


def test_report_names_missing_metrics(results):
    (results / "metrics" / "xy" / "tatoeba.json").unlink()
    md = report.run(results / "metrics", results / "train", results / "report.md", results / "report", _params()).read_text()
    assert "Missing metrics (not run yet or failed): xy/tatoeba" in md


def test_compare_two_result_folders(results, tmp_path):
    other = tmp_path / "other"
    (other / "metrics" / "hybrid").mkdir(parents=True)
    (other / "metrics" / "hybrid" / "xquad-r.json").write_text(json.dumps(_lareqa(0.1, 0.2, 0.3, 5.0, {})))
    table = compare([results, other])
    assert len(table) == 5
    row = table[(table["source"] == str(other)) & (table["run"] == "hybrid")].iloc[0]
    assert row["xquad-r mul_map"] == 0.3 and row["xquad-r rank_distance"] == 5.0
    assert table[table["run"] == "xy"].iloc[0]["tatoeba acc"] == pytest.approx(0.7)
    with pytest.raises(MixbatchError, match="not a results folder"):
        compare([tmp_path / "absent"])


def test_compare_reads_dvc_exp_show_json(monkeypatch):
    """The shape of `dvc exp show --json` (DVC 3): workspace, commits, their experiments."""
    import subprocess as sp

    metrics = {"results/metrics/hybrid/xquad-r.json": {"data": _lareqa(0.7, 0.6, 0.5, 300.0, {})},
               "results/metrics/xx/xquad-r.json": {"error": {"type": "FileNotFoundError"}},
               "results/train/hybrid/metrics.json": {"data": {"steps": 150}}}
    shown = [{"rev": "workspace", "name": None, "data": {"metrics": metrics}, "experiments": None},
             {"rev": "abc1234def", "name": "main", "data": {"metrics": {}},
              "experiments": [{"revs": [{"rev": "fff0000aaa", "name": "alpha03", "experiments": None,
                                         "data": {"metrics": metrics}}]}]}]
    monkeypatch.setattr(sp, "run", lambda *a, **k: sp.CompletedProcess(a, 0, json.dumps(shown), ""))
    table = compare([], dvc_experiments=True)
    assert table[["source", "run"]].values.tolist() == [["workspace", "hybrid"], ["alpha03", "hybrid"]]
    assert table["xquad-r mul_map"].tolist() == [0.5, 0.5]
