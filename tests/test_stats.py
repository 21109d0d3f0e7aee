"""mixbatch.report.stats: headlines against hand computations, and the intervals' and tests'
behaviour on simulated per-question data with a known difference and cluster structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixbatch.errors import MixbatchError
from mixbatch.report.stats import (
    add_holm,
    ClusterSums,
    PairedRuns,
    bootstrap_difference,
    cluster_sums,
    compare,
    headline_specs,
    headline_values,
    holm,
    run_intervals,
    sign_flip_p_value,
    weighted_headline,
)

SPECS = headline_specs()
MO = SPECS[0]
METRICS = ["ap", "ap@20", "r@1", "r@10", "rank_distance"]


def hand_table() -> pd.DataFrame:
    """en has ids x1-x3, de x1-x2, th x1; cells differ in size, so macro != plain mean."""
    rows = []

    def add(lang, xid, setting, c_lang, ap, **other):
        rows.append({"qid": f"{lang}:{xid}", "xling_id": xid, "q_lang": lang, "setting": setting,
                     "c_lang": c_lang, "ap": ap, "ap@20": other.get("ap20", ap), "r@1": other.get("r1", 0.0),
                     "r@10": other.get("r10", 1.0), "rank_distance": other.get("rd", np.nan)})

    for lang, xid, ap in [("en", "x1", 1.0), ("en", "x2", 0.5), ("en", "x3", 0.0), ("de", "x1", 0.2),
                          ("de", "x2", 0.4), ("th", "x1", 0.9)]:
        add(lang, xid, "mo", lang, ap)
    for lang, xid, c_lang, ap in [("en", "x1", "de", 0.6), ("en", "x2", "de", 0.8), ("en", "x1", "th", 0.7),
                                  ("de", "x1", "en", 0.1), ("de", "x2", "en", 0.3), ("de", "x1", "th", 0.5),
                                  ("th", "x1", "en", 1.0), ("th", "x1", "de", 0.0)]:
        add(lang, xid, "cr", c_lang, ap)
    for (lang, xid), ap, ap20, r1, r10, rd in zip(
            [("en", "x1"), ("en", "x2"), ("en", "x3"), ("de", "x1"), ("de", "x2"), ("th", "x1")],
            [0.5, 0.4, 0.1, 0.2, 0.2, 0.8], [0.5, 0.4, 0.0, 0.2, 0.2, 0.8], [1, 0, 0, 0, 0, 1],
            [1, 1, 0, 1, 1, 1], [10, 20, 30, 4, 6, 100]):
        add(lang, xid, "mul", "*", ap, ap20=ap20, r1=r1, r10=r10, rd=float(rd))
    return pd.DataFrame(rows)


HAND = {"mo_map": (0.5 + 0.3 + 0.9) / 3,  # plain mean of the 6 rows: 0.5
        "cr_map": (0.7 + 0.7 + 0.2 + 0.5 + 1.0 + 0.0) / 6,  # plain: 0.5, per q_lang only: 0.5
        "mul_map": 2.2 / 6, "mul_map@20": 2.1 / 6, "mul_r@1": 2 / 6, "mul_r@10": 5 / 6,
        "rank_distance": (20 + 5 + 100) / 3}  # plain: 170 / 6


def full_table(rng, n_clusters=40, langs=("en", "de", "th", "ar")) -> pd.DataFrame:
    """Every setting for every (xling_id, language); random metric values."""
    ids = [f"x{k}" for k in range(n_clusters)]
    frame = pd.DataFrame({"xling_id": ids * len(langs), "q_lang": np.repeat(langs, n_clusters)})
    frame["qid"] = frame.q_lang + ":" + frame.xling_id
    rows = [frame.assign(setting="mo", c_lang=frame.q_lang), frame.assign(setting="mul", c_lang="*")]
    rows += [frame[frame.q_lang != y].assign(setting="cr", c_lang=y) for y in langs]
    table = pd.concat(rows, ignore_index=True)
    for column in METRICS:
        table[column] = rng.random(len(table))
    table.loc[table.setting != "mul", "rank_distance"] = np.nan
    return table


def mo_tables(values_a, values_b, langs, question_level=False):
    """Two "mo" tables from (clusters, languages) arrays; question_level: every question its
    own xling_id, i.e. what resampling single questions would do."""
    n_clusters = values_a.shape[0]
    xid = np.tile(np.arange(n_clusters).astype(str), len(langs))
    q_lang = np.repeat(np.asarray(langs, dtype=object), n_clusters)
    qid = q_lang + ":" + xid
    keys = {"qid": qid, "xling_id": qid if question_level else xid, "q_lang": q_lang, "setting": "mo", "c_lang": q_lang}
    return (pd.DataFrame({**keys, "ap": values_a.T.ravel()}), pd.DataFrame({**keys, "ap": values_b.T.ravel()}))


def simulate_study(rng, true_diff, n_clusters=200, n_langs=5, cluster_sd=0.2, interaction_sd=0.1, noise_sd=0.1):
    """A (clusters, languages) per run: language effects and cluster effects shared by both
    runs, an A-only effect per cluster (the same in all its translations), per-run noise."""
    shared = np.linspace(0.3, 0.7, n_langs) + rng.normal(0, cluster_sd, (n_clusters, 1))
    a = shared + true_diff + rng.normal(0, interaction_sd, (n_clusters, 1)) + rng.normal(0, noise_sd, (n_clusters, n_langs))
    b = shared + rng.normal(0, noise_sd, (n_clusters, n_langs))
    return a, b


def mo_sums(values, question_level=False) -> ClusterSums:
    """ClusterSums of mo_tables' "ap" built straight from the array (what cluster_sums gives
    for those tables, see the test below), so that 1000 studies need no pandas work."""
    n_clusters, n_langs = values.shape
    if not question_level:
        return ClusterSums(values[None].copy(), np.ones((n_clusters, n_langs)))
    lang = np.repeat(np.arange(n_langs), n_clusters)  # rows of mo_tables: language-major
    one_hot = np.eye(n_langs)[lang]
    return ClusterSums((one_hot * values.T.ravel()[:, None])[None], one_hot)


def interval(values_a, values_b, seed, question_level=False, n_resamples=500):
    return bootstrap_difference(mo_sums(values_a, question_level), mo_sums(values_b, question_level), n_resamples, seed)


def test_headline_values_match_hand_computation():
    assert headline_values(hand_table(), SPECS) == pytest.approx(HAND, abs=1e-12)


def test_compare_recomputes_hand_headlines_from_cluster_sums():
    table = hand_table()
    shifted = table.assign(ap=table.ap * 0.5)
    result = compare([table], [shifted], SPECS, n_resamples=50, n_permutations=99).set_index("metric")
    assert result["a"].to_dict() == pytest.approx(HAND, abs=1e-12)
    assert result.loc["mo_map", "diff"] == pytest.approx(HAND["mo_map"] / 2, abs=1e-12)


@pytest.mark.parametrize("weights", [[1, 1, 1], [0, 2, 1], [3, 0, 1], [2, 1, 0]])
def test_weighted_headline_equals_headline_of_repeated_clusters(weights):
    """[0, 2, 1] drops x1 and so every th cell: empty cells leave the macro mean."""
    table = hand_table()
    times = {f"x{k + 1}": w for k, w in enumerate(weights)}
    repeated = pd.concat([table[table.xling_id == xid] for xid, w in times.items() for _ in range(w)])
    expected = headline_values(repeated, SPECS)
    for spec in SPECS:
        x = cluster_sums([table], spec)  # clusters: the setting's ids in order of first appearance
        ids = pd.unique(table.xling_id[table.setting == spec.setting])
        got = weighted_headline(x, np.array([[times[i] for i in ids]], dtype=float), np.ones((1, 1)))
        assert got[0] == pytest.approx(expected[spec.name], abs=1e-12), spec.name


def test_identical_runs_give_zero_difference_zero_width_and_p_one():
    rng = np.random.default_rng(1)
    for tables in ([hand_table()], [full_table(rng)], [full_table(rng), full_table(rng)]):
        result = compare(tables, tables, SPECS, n_resamples=200, seed=5, n_permutations=199)
        assert (result["diff"] == 0).all() and (result["p_value"] == 1).all()
        if len(tables) == 1:  # several seeds are resampled independently per run: not zero width
            assert (result["ci_low"] == 0).all() and (result["ci_high"] == 0).all()


def test_same_seed_same_result_and_other_seed_other_interval():
    rng = np.random.default_rng(2)
    a, b = [full_table(rng)], [full_table(rng)]
    first = compare(a, b, SPECS, n_resamples=300, seed=7, n_permutations=99)
    pd.testing.assert_frame_equal(first, compare(a, b, SPECS, n_resamples=300, seed=7, n_permutations=99))
    other = compare(a, b, SPECS, n_resamples=300, seed=8, n_permutations=99)
    assert not np.allclose(first["ci_low"], other["ci_low"])


@pytest.mark.parametrize("question_level", [False, True])
def test_mo_sums_is_what_cluster_sums_gives_for_mo_tables(question_level):
    values_a, values_b = simulate_study(np.random.default_rng(0), 0.05, n_clusters=30, n_langs=3)
    table_a, table_b = mo_tables(values_a, values_b, ["en", "de", "th"], question_level)
    for values, table in [(values_a, table_a), (values_b, table_b)]:
        got, expected = cluster_sums([table], MO, reference=table_a), mo_sums(values, question_level)
        np.testing.assert_array_equal(got.counts, expected.counts)
        np.testing.assert_allclose(got.sums, expected.sums, rtol=0, atol=0)


def test_cluster_interval_covers_the_true_difference_at_nominal_rate():
    """1000 simulated studies (200 ids x 5 languages), 500 resamples each: the 95% interval
    covers the true difference in 93-97% of them (Monte Carlo sd of the rate ~0.7%)."""
    rng = np.random.default_rng(12345)
    covered = 0
    for study in range(1000):
        _, low, high = interval(*simulate_study(rng, 0.05), seed=study)
        covered += low <= 0.05 <= high
    assert 0.93 <= covered / 1000 <= 0.97


def test_question_level_bootstrap_is_too_narrow_on_clustered_data():
    """Same kind of data: resampling single questions ignores the per-id A effect shared by a
    question's translations; its intervals are narrower and cover far less than 95%."""
    rng = np.random.default_rng(54321)
    covered = {"cluster": 0, "question": 0}
    width = {"cluster": 0.0, "question": 0.0}
    for study in range(200):
        values = simulate_study(rng, -0.02)
        for kind in covered:
            _, low, high = interval(*values, seed=study, question_level=kind == "question")
            covered[kind] += low <= -0.02 <= high
            width[kind] += high - low
    assert covered["question"] / 200 < 0.85 and covered["cluster"] / 200 > 0.9
    assert width["question"] < 0.8 * width["cluster"]


def seed_tables(rng, base, n_seeds, shift, seed_sd, noise_sd=0.01):
    """Seed tables: base + shift + a per-seed offset (seed variance) + per-row noise."""
    out = []
    for _ in range(n_seeds):
        table = base.copy()
        table["ap"] = base["ap"] + shift + rng.normal(0, seed_sd) + rng.normal(0, noise_sd, len(base))
        out.append(table)
    return out


def test_seed_variance_widens_the_interval_and_estimate_is_mean_over_seeds():
    rng = np.random.default_rng(3)
    base = full_table(rng, n_clusters=60)
    tables_a = seed_tables(rng, base, 4, shift=0.05, seed_sd=0.03)
    tables_b = seed_tables(rng, base, 3, shift=0.0, seed_sd=0.0)
    specs = SPECS[:3]
    two_level = compare(tables_a, tables_b, specs, n_resamples=1000, seed=1, n_permutations=99)
    seeds_fixed = compare(tables_a, tables_b, specs, n_resamples=1000, seed=1, n_permutations=99, resample_seeds=False)
    for spec in specs:
        expected = (np.mean([headline_values(t, [spec])[spec.name] for t in tables_a])
                    - np.mean([headline_values(t, [spec])[spec.name] for t in tables_b]))
        row = two_level.set_index("metric").loc[spec.name]
        assert row["diff"] == pytest.approx(expected, abs=1e-12)
        fixed = seeds_fixed.set_index("metric").loc[spec.name]
        assert row["ci_high"] - row["ci_low"] > 1.5 * (fixed["ci_high"] - fixed["ci_low"])


def test_one_seed_each_is_the_plain_cluster_bootstrap():
    rng = np.random.default_rng(4)
    a, b = [full_table(rng)], [full_table(rng)]
    pd.testing.assert_frame_equal(compare(a, b, SPECS, n_resamples=300, seed=2, n_permutations=99),
                                  compare(a, b, SPECS, n_resamples=300, seed=2, n_permutations=99, resample_seeds=False))


def test_sign_flip_p_small_for_a_real_difference():
    rng = np.random.default_rng(6)
    table_a, table_b = mo_tables(*simulate_study(rng, 0.05, n_langs=3), ["en", "de", "th"])
    p = sign_flip_p_value(cluster_sums([table_a], MO), cluster_sums([table_b], MO, reference=table_a), 999, rng=0)
    assert p == 1 / 1000  # no flip reaches the observed difference; the observed one counts


def test_sign_flip_p_roughly_uniform_without_a_difference_and_needs_clusters():
    """No true difference, but an A effect per xling_id (symmetric around 0): flipping whole
    clusters gives roughly uniform p; flipping single questions rejects far too often."""
    rng = np.random.default_rng(7)
    p_values = {False: [], True: []}
    for study in range(400):
        values_a, values_b = simulate_study(rng, 0.0, n_clusters=100, n_langs=3, interaction_sd=0.2)
        for question_level, found in p_values.items():
            found.append(sign_flip_p_value(mo_sums(values_a, question_level), mo_sums(values_b, question_level), 199, study))
    by_cluster, by_question = np.array(p_values[False]), np.array(p_values[True])
    assert 0.4 < by_cluster.mean() < 0.6
    assert 0.01 < (by_cluster <= 0.05).mean() < 0.1
    assert 0.15 < (by_cluster <= 0.25).mean() < 0.35
    assert (by_question <= 0.05).mean() > 0.15


def test_holm_hand_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    frame = pd.concat([pd.DataFrame({"metric": ["m1", "m2"], "p_value": [0.01, 0.04]}),
                       pd.DataFrame({"metric": ["m1", "m2"], "p_value": [0.03, 0.005]})], ignore_index=True)
    assert add_holm(frame)["p_holm"].tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    with pytest.raises(MixbatchError, match="p-values"):
        holm([0.1, np.nan])


def test_run_intervals_contain_the_headline():
    rng = np.random.default_rng(8)
    tables = [full_table(rng), full_table(rng)]
    result = run_intervals(tables, SPECS, n_resamples=300, seed=0).set_index("metric")
    rank = result.loc["rank_distance"]
    expected = np.mean([headline_values(t, SPECS)["rank_distance"] for t in tables])
    assert rank["value"] == pytest.approx(expected, abs=1e-12)
    assert (result["ci_low"] < result["value"]).all() and (result["value"] < result["ci_high"]).all()


def test_rows_in_another_order_are_aligned():
    rng = np.random.default_rng(9)
    a, b = full_table(rng), full_table(rng)
    shuffled = b.sample(frac=1, random_state=0)
    pd.testing.assert_frame_equal(compare([a], [b], SPECS, n_resamples=100, n_permutations=99),
                                  compare([a], [shuffled], SPECS, n_resamples=100, n_permutations=99))


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns="ap@20"), r"run B table 0: missing columns \['ap@20'\]"),
    (lambda t: t.drop(index=3), r"lacks row \{'qid': 'de:x1', 'setting': 'mo'"),
    (lambda t: t.assign(qid=t.qid.where(t.index != 0, "en:x9")), r"lacks row \{'qid': 'en:x1'"),
    (lambda t: pd.concat([t, t.iloc[[0]]]), r"'qid': 'en:x1'.* more than once"),
    (lambda t: t.assign(xling_id=t.xling_id.where(t.index != 0, "x7")), r"xling_id of qid 'en:x1'"),
    (lambda t: t.assign(ap=t.ap.where(t.index != 1, np.nan)), r"ap of qid 'en:x2' .* not finite"),
    (lambda t: t.iloc[:0], "empty"),
])
def test_bad_inputs_are_named(change, message):
    table = hand_table()
    with pytest.raises(MixbatchError, match=message):
        compare([table], [change(table)], SPECS, n_resamples=10, n_permutations=9)


def test_duplicate_rows_of_the_first_table_are_named():
    table = hand_table()
    with pytest.raises(MixbatchError, match=r"reference table: row \{'qid': 'de:x2', 'setting': 'mo'.* more than once"):
        run_intervals([pd.concat([table, table.iloc[[4]]])], SPECS)


def test_no_tables_and_missing_setting():
    with pytest.raises(MixbatchError, match="run B: no tables"):
        compare([hand_table()], [], SPECS)
    only_mo = hand_table().query("setting == 'mo'")
    with pytest.raises(MixbatchError, match="cr_map: no rows with setting 'cr'"):
        compare([only_mo], [only_mo], SPECS)


def test_paired_runs_do_not_depend_on_what_is_asked_first():
    rng = np.random.default_rng(10)
    runs = {name: [full_table(rng) for _ in range(n)] for name, n in (("x", 1), ("y", 2), ("z", 3))}

    def build():
        return PairedRuns(runs, SPECS, n_resamples=200, seed=3, n_permutations=99)

    values_first, pairs_first = build(), build()
    values = {r: values_first.values(r) for r in runs}
    pairs = values_first.compare([("x", "y"), ("z", "y")])
    later = pairs_first.compare([("z", "y"), ("x", "y")], ["mul_map"])  # other order, one metric
    pd.testing.assert_frame_equal(pairs_first.compare([("x", "y"), ("z", "y")]), pairs)
    pd.testing.assert_frame_equal({r: pairs_first.values(r) for r in runs}["z"], values["z"])
    mine = later.set_index(["a", "b"]).loc[("x", "y")]
    assert mine["p_value"] == pairs.set_index(["a", "b", "metric"]).loc[("x", "y", "mul_map"), "p_value"]


def test_paired_runs_differences_are_the_runs_own_values_and_headlines():
    rng = np.random.default_rng(11)
    runs = {"x": [full_table(rng), full_table(rng)], "y": [full_table(rng)], "w": [full_table(rng)]}
    paired = PairedRuns(runs, SPECS, n_resamples=300, seed=0, n_permutations=99)
    result = paired.compare([("x", "y"), ("w", "x")]).set_index(["a", "b", "metric"])
    for spec in SPECS:
        means = {r: np.mean([headline_values(t, [spec])[spec.name] for t in tables]) for r, tables in runs.items()}
        row = result.loc[("x", "y", spec.name)]
        assert row["value_a"] == pytest.approx(means["x"], abs=1e-12)
        assert row["diff"] == pytest.approx(means["x"] - means["y"], abs=1e-12)
        assert row["ci_low"] <= row["diff"] <= row["ci_high"]
        x = paired.values("x").set_index("metric").loc[spec.name]
        assert x["value"] == pytest.approx(means["x"], abs=1e-12)
    # the flipped study's statistic is linear in the signs: all signs +1 is the observed one, so p >= 1/(n+1)
    assert (result["p_value"] >= 1 / 100).all() and (result["p_value"] <= 1).all()


def test_sign_flip_p_matches_flipping_the_tables_themselves():
    """The p of the linear form equals counting flipped studies recomputed from scratch:
    swap A and B rows of the flipped ids and take the macro headline difference again."""
    rng = np.random.default_rng(12)
    a, b = hand_table(), hand_table()
    b["ap"] = b["ap"] * rng.uniform(0.5, 1.0, len(b))
    spec = SPECS[1]  # cr_map: cells of unequal size
    p = sign_flip_p_value(cluster_sums([a], spec), cluster_sums([b], spec, reference=a), 999, rng=4)
    ids = list(pd.unique(a.xling_id[a.setting == spec.setting]))
    observed = headline_values(a, [spec])[spec.name] - headline_values(b, [spec])[spec.name]
    hits = 0
    for signs in np.random.default_rng(4).integers(0, 2, size=(999, len(ids)), dtype=np.int8):
        flipped_ids = [i for i, s in zip(ids, signs) if s == 0]
        swap = a.xling_id.isin(flipped_ids)
        fa, fb = a.copy(), b.copy()
        fa.loc[swap, "ap"], fb.loc[swap, "ap"] = b.loc[swap, "ap"], a.loc[swap, "ap"]
        diff = headline_values(fa, [spec])[spec.name] - headline_values(fb, [spec])[spec.name]
        hits += abs(diff) >= abs(observed) * (1 - 1e-12)
    assert p == (1 + hits) / 1000
