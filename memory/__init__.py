"""The written log: Chroma-backed entries, the embedder, and scored retrieval."""
