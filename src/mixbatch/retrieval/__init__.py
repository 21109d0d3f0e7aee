"""Retrieval side of evaluation: reading the aligned evaluation tables, encoding them with
a model folder, and FAISS indexes over the encoded candidates."""
