"""Tuning the loop depth: what each extra day bought, how far the output drifted, the critic's audit per
day, and the figures."""
