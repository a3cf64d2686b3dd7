"""Brands and competitors: which watched names a text uses (`tagging`), whether an ambiguous
alias means the brand (`disambiguation`, with its context model in `heads/`), and how well
that works on an analyst's corrections (`check`).
"""
