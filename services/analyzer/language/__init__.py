"""Language identification: which language a text is written in."""
