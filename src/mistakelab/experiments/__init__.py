"""Experiments that are more than a grid of strategies: each builds its own items and
conditions, runs them through the run store (completion cache, resumable units) and reports
its own figures. ``blindspot``: Self-Correction Bench (METHODS §2.5); ``compare``: every
strategy against self-consistency at equal tokens."""
