"""Fixed designs that are more than one strategy (compare at equal tokens, ...)."""
