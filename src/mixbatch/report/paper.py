"""The paper's numbers (arXiv 2408.10536, as quoted in ../shared/PAPER.md), for reference
beside ours. Their backbones (XLM-R, LaBSE) and training data differ from our offline
protocol, so these are context, not targets."""

# Table 1, mAP: (model, sampling) -> {dataset: (Mo., Cr., Mul.)}
TABLE1 = {
    ("XLM-R", "X-X"): {"xquad-r": (0.792, 0.674, 0.547), "mlqa-r": (0.648, 0.584, 0.473)},
    ("XLM-R", "X-Y"): {"xquad-r": (0.755, 0.700, 0.593), "mlqa-r": (0.626, 0.620, 0.508)},
    ("XLM-R", "Hybrid"): {"xquad-r": (0.798, 0.705, 0.593), "mlqa-r": (0.648, 0.623, 0.512)},
    ("LaBSE", "X-X"): {"xquad-r": (0.808, 0.752, 0.652), "mlqa-r": (0.681, 0.656, 0.550)},
    ("LaBSE", "X-Y"): {"xquad-r": (0.801, 0.762, 0.679), "mlqa-r": (0.671, 0.677, 0.576)},
    ("LaBSE", "Hybrid"): {"xquad-r": (0.817, 0.767, 0.682), "mlqa-r": (0.686, 0.681, 0.579)},
}

# Mean maximum rank distance (lower is better): (model, sampling) -> {dataset: value}
RANK_DISTANCE = {
    ("XLM-R", "X-X"): {"xquad-r": 410.2, "mlqa-r": 287.5},
    ("XLM-R", "X-Y"): {"xquad-r": 295.4, "mlqa-r": 226.7},
    ("XLM-R", "Hybrid"): {"xquad-r": 286.6, "mlqa-r": 227.1},
    ("LaBSE", "X-X"): {"xquad-r": 261.5, "mlqa-r": 225.3},
    ("LaBSE", "X-Y"): {"xquad-r": 225.2, "mlqa-r": 198.3},
    ("LaBSE", "Hybrid"): {"xquad-r": 221.1, "mlqa-r": 195.0},
}

# MIRACL dev mean: model -> {sampling: (nDCG@10, R@100)}
MIRACL = {
    "XLM-R": {"X-X": (0.415, 0.768), "X-Y": (0.399, 0.749), "Hybrid": (0.405, 0.763)},
    "LaBSE": {"X-X": (0.455, 0.812), "X-Y": (0.418, 0.777), "Hybrid": (0.441, 0.795)},
}

SAMPLING_LABEL = {"xx": "X-X", "xy": "X-Y", "hybrid": "Hybrid", "random": "random pairs", "mixed": "mixed",
                  "none": "none (zero-shot)"}
