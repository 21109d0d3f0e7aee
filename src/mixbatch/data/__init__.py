"""Data sets: the download manifest, fetching, and parsers into aligned tables."""
