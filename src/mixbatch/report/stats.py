"""Intervals and tests for headline LAReQA metrics, from the score stage's per-question tables.

Input: per-question tables (one pandas DataFrame per (run, seed)) with the columns qid,
xling_id (shared by a question's translations), q_lang, setting ("mo" | "cr" | "mul"),
c_lang (== q_lang for "mo", the candidate language for "cr", "*" for "mul") and the metric
columns ("ap", "ap@<map_k>", "r@<k>", "rank_distance": NaN except on "mul" rows). A row is
keyed by (qid, setting, c_lang); two runs on one data set have the same rows (paired).

A headline (HeadlineSpec) is the mean of a column over the rows of one setting within each
cell (q_lang, (q_lang, c_lang) or one cell), then the plain mean over cells (macro).

Statistics (all resample xling_ids, the clusters: translations are not independent):
- PairedRuns: the report's form. Several runs on the same rows (one data set, one language
  group) share one draw of clusters per replicate and one set of sign flips, so every run's
  interval and every pair's difference and test come from the same resamples, each drawn
  once (a report of 6 runs x 15 pairs x 7 metrics x 3 groups stays within seconds).
- Two-level paired bootstrap of mean-over-seeds(A) - mean-over-seeds(B): each replicate
  draws clusters with replacement (the same draw for A and B, keeping the pairing) and,
  independently per run, seeds with replacement (seeds are not paired); the headline is
  recomputed exactly from per-cluster cell sums and row counts (cell mean = (w @ sums) /
  (w @ counts), a cell left empty is dropped from the macro mean). Percentile interval.
  With one seed per run it is the plain paired cluster bootstrap. bootstrap_difference is
  the two-run form on ClusterSums.
- Sign-flip test (sign_flip_p_value for two runs): paired randomisation test; under H0 the
  A/B labels are exchangeable per xling_id, so each cluster's seed-averaged A - B
  contribution gets a random sign. Flipping keeps every cell's row count, so the macro
  headline of the flipped difference is linear in the signs: signs @ (one value per cluster).
- holm: Holm-Bonferroni step-down adjustment.
scipy.stats.bootstrap / permutation_test are not used: they resample 1-D observations,
while an exact macro headline needs whole clusters resampled into per-cell ratios, plus
the independent seed draws; the matrix form below does all replicates in one product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixbatch.errors import MixbatchError

ROW_KEY = ("qid", "setting", "c_lang")
ID_COLUMNS = ("xling_id", "q_lang")
_SIGN_FLIP_CHUNK = 1000  # sign-flip rows held in memory at once


@dataclass(frozen=True)
class HeadlineSpec:
    """A headline metric: mean of `column` over rows of `setting` per cell, then over cells."""

    name: str
    setting: str
    column: str
    cell_by: tuple[str, ...]  # () = one cell: the plain mean over rows
    lower_is_better: bool = False


def headline_specs(map_k: int = 20, recall_ks=(1, 10)) -> list[HeadlineSpec]:
    """The report's headlines, named after the score params (map_k, recall_ks)."""
    specs = [HeadlineSpec("mo_map", "mo", "ap", ("q_lang",)),
             HeadlineSpec("cr_map", "cr", "ap", ("q_lang", "c_lang")),
             HeadlineSpec("mul_map", "mul", "ap", ()),
             HeadlineSpec(f"mul_map@{map_k}", "mul", f"ap@{map_k}", ())]
    specs += [HeadlineSpec(f"mul_r@{k}", "mul", f"r@{k}", ()) for k in recall_ks]
    return specs + [HeadlineSpec("rank_distance", "mul", "rank_distance", ("q_lang",), lower_is_better=True)]


def specs_of_columns(columns) -> list[HeadlineSpec]:
    """The headline specs that per-question columns name (ap@<map_k>, r@<k>: score.map_k, recall_ks)."""
    map_k = int(next(c for c in columns if c.startswith("ap@")).split("@")[1])
    return headline_specs(map_k, sorted(int(c.split("@")[1]) for c in columns if c.startswith("r@")))


def headline_values(table: pd.DataFrame, specs: list[HeadlineSpec]) -> dict[str, float]:
    """{spec name: headline} of one table, by a plain group-by (the definition itself)."""
    out = {}
    for spec in specs:
        rows = table[table["setting"] == spec.setting]
        if rows.empty:
            raise MixbatchError(f"{spec.name}: no rows with setting {spec.setting!r}")
        cells = rows.groupby(list(spec.cell_by))[spec.column].mean() if spec.cell_by else rows[spec.column]
        out[spec.name] = float(cells.mean())
    return out


@dataclass(frozen=True)
class ClusterSums:
    """One headline of one run reduced to what resampling needs: sums (seeds, clusters, cells)
    of the metric over a cluster's rows in a cell, counts (clusters, cells) of those rows."""

    sums: np.ndarray
    counts: np.ndarray


def _check_table(table: pd.DataFrame, columns: list[str], label: str) -> None:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise MixbatchError(f"{label}: empty or not a DataFrame")
    missing = [c for c in (*ROW_KEY, *ID_COLUMNS, *columns) if c not in table.columns]
    if missing:
        raise MixbatchError(f"{label}: missing columns {missing} (has {list(table.columns)})")


def _check_unique(table: pd.DataFrame, label: str) -> None:
    duplicated = table.duplicated(list(ROW_KEY)).to_numpy()
    if duplicated.any():
        first = table[list(ROW_KEY)].to_numpy()[duplicated][0]
        raise MixbatchError(f"{label}: row {dict(zip(ROW_KEY, first))} appears more than once")


def _row_keys(table: pd.DataFrame, label: str) -> pd.MultiIndex:
    _check_unique(table, label)
    return pd.MultiIndex.from_frame(table[list(ROW_KEY)].astype(str))


def _same_rows_as(table: pd.DataFrame, reference: pd.DataFrame) -> bool:
    # array.equals: a quick check for the usual case, rows in the same order and dtypes
    return len(table) == len(reference) and all(table[c].array.equals(reference[c].array) for c in ROW_KEY)


def _align(tables: list[pd.DataFrame], reference: pd.DataFrame, columns: list[str], label: str) -> list[pd.DataFrame]:
    """The tables with their rows in the reference's order; every table must have its rows."""
    if not tables:
        raise MixbatchError(f"{label}: no tables (one per seed expected)")
    _check_table(reference, columns, "reference table")
    _check_unique(reference, "reference table")
    ref_keys = None
    aligned = []
    for i, table in enumerate(tables):
        name = f"{label} table {i}"
        _check_table(table, columns, name)
        if not _same_rows_as(table, reference):
            ref_keys = _row_keys(reference, "reference table") if ref_keys is None else ref_keys
            keys = _row_keys(table, name)
            where = keys.get_indexer(ref_keys)
            if len(keys) != len(ref_keys) or (where < 0).any():
                raise MixbatchError(f"{name} does not cover the reference table's rows: {_first_difference(ref_keys, keys)}")
            table = table.iloc[where]
        for c in ID_COLUMNS:
            if table[c].array.equals(reference[c].array):
                continue
            differs = table[c].to_numpy() != reference[c].to_numpy()
            if differs.any():
                qid = reference["qid"].to_numpy()[differs][0]
                raise MixbatchError(f"{name}: {c} of qid {qid!r} differs from the reference table's")
        aligned.append(table)
    return aligned


def _first_difference(ref_keys: pd.MultiIndex, keys: pd.MultiIndex) -> str:
    lacking = ref_keys[~ref_keys.isin(keys)]
    if len(lacking):
        return f"it lacks row {dict(zip(ROW_KEY, lacking[0]))}"
    return f"it has an extra row {dict(zip(ROW_KEY, keys[~keys.isin(ref_keys)][0]))}"


def _group_codes(rows: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """0, 1, ... per distinct combination of the columns, in order of first appearance."""
    combined = np.zeros(len(rows), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(rows[column])
        combined = combined * len(uniques) + codes
    return pd.factorize(combined)[0]


@dataclass(frozen=True)
class _Layout:
    """Where one headline's rows go: the setting's rows of the aligned tables (selected),
    each row's (cluster, cell) slot, the clusters' xling_ids and the row counts per slot."""

    selected: np.ndarray
    slot: np.ndarray
    clusters: tuple
    counts: np.ndarray  # (clusters, cells)


def _layout(reference: pd.DataFrame, spec: HeadlineSpec) -> _Layout:
    """Clusters (the xling_ids with rows in the spec's setting, so that every draw adds rows)
    and cells, numbered in order of first appearance in the setting's rows."""
    selected = (reference["setting"] == spec.setting).to_numpy()
    if not selected.any():
        raise MixbatchError(f"{spec.name}: no rows with setting {spec.setting!r}")
    rows = reference[selected]
    cluster, cell = _group_codes(rows, ("xling_id",)), _group_codes(rows, spec.cell_by)
    n_clusters, n_cells = cluster.max() + 1, cell.max() + 1
    slot = cluster * n_cells + cell
    counts = np.bincount(slot, minlength=n_clusters * n_cells).reshape(n_clusters, n_cells).astype(np.float64)
    return _Layout(selected, slot, tuple(pd.unique(rows["xling_id"])), counts)


def _sums(aligned: list[pd.DataFrame], spec: HeadlineSpec, layout: _Layout) -> ClusterSums:
    """ClusterSums of aligned seed tables (same rows, same order as the layout's reference)."""
    n_clusters, n_cells = layout.counts.shape
    sums = []
    for i, table in enumerate(aligned):
        values = table[spec.column].to_numpy(dtype=np.float64, na_value=np.nan)[layout.selected]
        if not np.isfinite(values).all():
            bad = table["qid"].to_numpy()[layout.selected][~np.isfinite(values)][0]
            raise MixbatchError(f"{spec.name}: {spec.column} of qid {bad!r} (setting {spec.setting}) "
                                f"in seed table {i} is not finite")
        sums.append(np.bincount(layout.slot, weights=values, minlength=n_clusters * n_cells).reshape(n_clusters, n_cells))
    return ClusterSums(np.stack(sums), layout.counts)


def cluster_sums(tables: list[pd.DataFrame], spec: HeadlineSpec, reference: pd.DataFrame | None = None) -> ClusterSums:
    """ClusterSums of one run's seed tables, clusters and cells in the order of `reference`
    (default the first table; pass the same reference for the two runs of a comparison)."""
    reference = tables[0] if reference is None and tables else reference
    aligned = _align(tables, reference, [spec.column], "run")
    return _sums(aligned, spec, _layout(aligned[0], spec))


def weighted_headline(x: ClusterSums, cluster_weights: np.ndarray, seed_weights: np.ndarray) -> np.ndarray:
    """Headline per replicate: cluster_weights (replicates, clusters) are how often each
    cluster is drawn, seed_weights (replicates, seeds) each seed's share (rows sum to 1).
    Exactly the headline of the table with every cluster's rows repeated that often."""
    n_seeds, n_clusters, n_cells = x.sums.shape
    per_seed = cluster_weights @ x.sums.transpose(1, 0, 2).reshape(n_clusters, n_seeds * n_cells)
    numerators = np.einsum("bs,bsm->bm", seed_weights, per_seed.reshape(-1, n_seeds, n_cells))
    return _macro(numerators, cluster_weights @ x.counts)


def _macro(numerators: np.ndarray, row_counts: np.ndarray) -> np.ndarray:
    """Mean over cells of the cell means; cells without rows are left out."""
    filled = row_counts > 0
    means = np.divide(numerators, row_counts, out=np.zeros(np.broadcast(numerators, row_counts).shape), where=filled)
    return means.sum(axis=-1) / filled.sum(axis=-1)


def _draw_counts(rng: np.random.Generator, n_items: int, n_resamples: int) -> np.ndarray:
    """(n_resamples, n_items): how often each item is drawn in n_items draws with
    replacement (rng.multinomial gives the same law, several times slower)."""
    drawn = rng.integers(0, n_items, size=(n_resamples, n_items)) + n_items * np.arange(n_resamples)[:, None]
    return np.bincount(drawn.ravel(), minlength=n_resamples * n_items).reshape(n_resamples, n_items).astype(np.float64)


def _draw_seeds(rng: np.random.Generator, n_seeds: int, n_resamples: int, resample: bool) -> np.ndarray:
    if resample and n_seeds > 1:
        return _draw_counts(rng, n_seeds, n_resamples) / n_seeds
    return np.full((n_resamples, n_seeds), 1.0 / n_seeds)


def _draw_signs(rng: np.random.Generator, n_clusters: int, n_permutations: int) -> np.ndarray:
    """(n_permutations, n_clusters) of 0/1 (int8: a tenth of the memory of the +-1 floats)."""
    return rng.integers(0, 2, size=(n_permutations, n_clusters), dtype=np.int8)


def _headline(x: ClusterSums) -> float:
    """The mean over seeds of the headline on all rows."""
    n_seeds, n_clusters = x.sums.shape[:2]
    return float(weighted_headline(x, np.ones((1, n_clusters)), np.full((1, n_seeds), 1.0 / n_seeds))[0])


def _percentiles(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise MixbatchError(f"confidence must be in (0, 1), not {confidence}")
    return tuple(float(q) for q in np.quantile(replicates, [(1 - confidence) / 2, (1 + confidence) / 2]))


def _check_paired(a: ClusterSums, b: ClusterSums) -> None:
    if a.counts.shape != b.counts.shape or not np.array_equal(a.counts, b.counts):
        raise MixbatchError("runs A and B do not have the same rows per xling_id and cell (build both with one reference)")


def _flip_values(a: ClusterSums, b: ClusterSums) -> np.ndarray:
    """(clusters,): each cluster's share of the macro headline of seed-mean(A) - seed-mean(B).
    Their sum is the observed difference; a sign flip per cluster keeps the row counts, so
    signs @ values is exactly the flipped study's difference."""
    row_counts = a.counts.sum(axis=0)
    filled = row_counts > 0
    cell_weights = np.divide(1.0, row_counts * filled.sum(), out=np.zeros_like(row_counts), where=filled)
    return (a.sums.mean(axis=0) - b.sums.mean(axis=0)) @ cell_weights


def _sign_flip_p_values(values: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Two-sided p per column of values (clusters, tests), signs from _draw_signs:
    (1 + #{|flipped| >= |observed|}) / (n_permutations + 1)."""
    observed = np.abs(values.sum(axis=0))
    threshold = observed - 1e-12 * observed  # a flip giving the observed value again counts, whatever the rounding
    hits = np.zeros(values.shape[1], dtype=np.int64)
    for start in range(0, len(signs), _SIGN_FLIP_CHUNK):
        flipped = (signs[start:start + _SIGN_FLIP_CHUNK] * 2.0 - 1.0) @ values
        hits += np.count_nonzero(np.abs(flipped) >= threshold, axis=0)
    return (1 + hits) / (1 + len(signs))


def bootstrap_difference(a: ClusterSums, b: ClusterSums, n_resamples: int = 2000, rng=0,
                         confidence: float = 0.95, resample_seeds: bool = True) -> tuple[float, float, float]:
    """(mean-over-seeds A - B, low, high): two-level paired cluster bootstrap (module docstring).
    resample_seeds=False averages the seeds in every replicate (cluster variance only).
    rng: a numpy Generator or a seed; the same seed gives the same interval."""
    _check_paired(a, b)
    rng = np.random.default_rng(rng)
    weights = _draw_counts(rng, a.counts.shape[0], n_resamples)
    seeds_a = _draw_seeds(rng, a.sums.shape[0], n_resamples, resample_seeds)
    seeds_b = _draw_seeds(rng, b.sums.shape[0], n_resamples, resample_seeds)
    replicates = weighted_headline(a, weights, seeds_a) - weighted_headline(b, weights, seeds_b)
    return (_headline(a) - _headline(b), *_percentiles(replicates, confidence))


def sign_flip_p_value(a: ClusterSums, b: ClusterSums, n_permutations: int = 9999, rng=0) -> float:
    """Two-sided p of the paired cluster randomisation test of headline(A) == headline(B),
    on seed-averaged values (it tests the runs' exchangeability, not the seed variance).
    Identical runs: 1."""
    _check_paired(a, b)
    signs = _draw_signs(np.random.default_rng(rng), a.counts.shape[0], n_permutations)
    return float(_sign_flip_p_values(_flip_values(a, b)[:, None], signs)[0])


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, made monotone, capped at 1), input order."""
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise MixbatchError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def add_holm(frame: pd.DataFrame, p_column: str = "p_value") -> pd.DataFrame:
    """A copy of frame (e.g. several compare() results concatenated) with `p_holm`:
    Holm-adjusted over all its rows, the family being every comparison in the frame."""
    return frame.assign(p_holm=holm(frame[p_column].to_numpy()))


def _columns(specs: list[HeadlineSpec]) -> list[str]:
    if not specs:
        raise MixbatchError("no headline specs given")
    return sorted({s.column for s in specs})


class PairedRuns:
    """Runs on the same rows (one data set, one language group), resampled together.

    runs: {name: its seed tables}; the first table of the first run is the reference every
    table is aligned to. All draws happen here, in a fixed order (per distinct cluster set:
    bootstrap counts, then sign flips; then each run's seed draw), so results depend on
    the seed only, never on which values or pairs are asked for first. Each run's
    replicates are computed once and shared by its interval and all its differences.
    """

    COMPARE_COLUMNS = ["a", "b", "metric", "value_a", "value_b", "diff", "ci_low", "ci_high", "p_value"]

    def __init__(self, runs: dict[str, list[pd.DataFrame]], specs: list[HeadlineSpec], n_resamples: int = 2000,
                 seed: int = 0, confidence: float = 0.95, n_permutations: int = 9999, resample_seeds: bool = True):
        if not runs:
            raise MixbatchError("no runs to compare")
        columns = _columns(specs)
        first = next(iter(runs.values()))
        reference = first[0] if first else None
        aligned = {name: _align(tables, reference, columns, f"run {name}") for name, tables in runs.items()}
        self.specs = {spec.name: spec for spec in specs}
        self.confidence = confidence
        layouts = {spec.name: _layout(aligned[next(iter(aligned))][0], spec) for spec in specs}
        self._sums = {(run, name): _sums(tables, self.specs[name], layouts[name])
                      for run, tables in aligned.items() for name in self.specs}
        rng = np.random.default_rng(seed)
        draws: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        for layout in layouts.values():
            if layout.clusters not in draws:
                n = len(layout.clusters)
                draws[layout.clusters] = (_draw_counts(rng, n, n_resamples), _draw_signs(rng, n, n_permutations))
        self._cluster_weights = {name: draws[layout.clusters][0] for name, layout in layouts.items()}
        self._signs = {name: draws[layout.clusters][1] for name, layout in layouts.items()}
        self._seed_weights = {run: _draw_seeds(rng, len(tables), n_resamples, resample_seeds)
                              for run, tables in aligned.items()}
        self._replicates: dict[tuple[str, str], np.ndarray] = {}
        self._p_values: dict[tuple[str, str, str], float] = {}

    @property
    def runs(self) -> list[str]:
        return list(self._seed_weights)

    def n_seeds(self, run: str) -> int:
        return self._seed_weights[run].shape[1]

    def _replicates_of(self, run: str, metric: str) -> np.ndarray:
        key = (run, metric)
        if key not in self._replicates:
            self._replicates[key] = weighted_headline(self._sums[key], self._cluster_weights[metric],
                                                      self._seed_weights[run])
        return self._replicates[key]

    def values(self, run: str) -> pd.DataFrame:
        """One run's headlines with intervals: metric, value, ci_low, ci_high."""
        rows = [{"metric": name, "value": _headline(self._sums[(run, name)]),
                 **dict(zip(("ci_low", "ci_high"), _percentiles(self._replicates_of(run, name), self.confidence)))}
                for name in self.specs]
        return pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high"])

    def compare(self, pairs: list[tuple[str, str]], metrics: list[str] | None = None) -> pd.DataFrame:
        """A - B per pair and metric (default all): values (means over seeds), diff, its
        interval and the sign-flip p (not adjusted: see add_holm)."""
        metrics = list(self.specs) if metrics is None else metrics
        self._test(pairs, metrics)
        rows = []
        for a, b in pairs:
            for name in metrics:
                value_a, value_b = _headline(self._sums[(a, name)]), _headline(self._sums[(b, name)])
                low, high = _percentiles(self._replicates_of(a, name) - self._replicates_of(b, name), self.confidence)
                rows.append({"a": a, "b": b, "metric": name, "value_a": value_a, "value_b": value_b,
                             "diff": value_a - value_b, "ci_low": low, "ci_high": high,
                             "p_value": self._p_values[(a, b, name)]})
        return pd.DataFrame(rows, columns=self.COMPARE_COLUMNS)

    def _test(self, pairs: list[tuple[str, str]], metrics: list[str]) -> None:
        """Sign-flip p of every (pair, metric) not yet tested: one product per metric."""
        for name in metrics:
            todo = [(a, b) for a, b in dict.fromkeys(pairs) if (a, b, name) not in self._p_values]
            if not todo:
                continue
            values = np.stack([_flip_values(self._sums[(a, name)], self._sums[(b, name)]) for a, b in todo], axis=1)
            for (a, b), p in zip(todo, _sign_flip_p_values(values, self._signs[name])):
                self._p_values[(a, b, name)] = float(p)


def compare(tables_a: list[pd.DataFrame], tables_b: list[pd.DataFrame], specs: list[HeadlineSpec],
            n_resamples: int = 2000, seed: int = 0, confidence: float = 0.95, n_permutations: int = 9999,
            resample_seeds: bool = True) -> pd.DataFrame:
    """Run A vs run B (lists of seed tables, same rows): one row per spec with metric, a, b
    (means over seeds), diff (a - b), ci_low, ci_high and p_value (PairedRuns of the two;
    p not adjusted: see add_holm). Reproducible for a given seed."""
    runs = PairedRuns({"A": tables_a, "B": tables_b}, specs, n_resamples, seed, confidence, n_permutations,
                      resample_seeds)
    frame = runs.compare([("A", "B")]).drop(columns=["a", "b"]).rename(columns={"value_a": "a", "value_b": "b"})
    return frame[["metric", "a", "b", "diff", "ci_low", "ci_high", "p_value"]]


def run_intervals(tables: list[pd.DataFrame], specs: list[HeadlineSpec], n_resamples: int = 2000,
                  seed: int = 0, confidence: float = 0.95, resample_seeds: bool = True) -> pd.DataFrame:
    """One run's headlines with intervals: metric, value, ci_low, ci_high."""
    return PairedRuns({"run": tables}, specs, n_resamples, seed, confidence, 0, resample_seeds).values("run")
