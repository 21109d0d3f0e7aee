"""The cross-run report: paper-style tables, plots and the comparison of result folders."""
