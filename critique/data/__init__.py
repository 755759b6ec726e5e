"""Exemplar banks for the embedding layer of the screens (a package so the TOML files ship with it)."""
