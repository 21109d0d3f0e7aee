"""Evaluation metrics: LAReQA (XQuAD-R / MLQA-R) mAP and language bias, Tatoeba accuracy,
MIRACL nDCG@10 / Recall@100. Pure functions over arrays and tables, no file I/O."""
