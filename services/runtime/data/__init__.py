"""Data in: JSON Lines imports, the bundled demo mentions, batch tagging of texts."""
