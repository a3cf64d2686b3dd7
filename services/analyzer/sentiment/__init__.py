"""Sentiment overall and per brand: the head read on a text's embedding and n-grams (`head`,
`ngram_terms`, the `expressions` list), the `evidence` for a label, two brands judged in one
clause (`comparisons`, `coordination`), the English `second_opinion`, and a workspace's own
heads (`head_delta` adapts one on corrections, `head_store` keeps the versions). The shipped
heads, lexicon and MiniLM numbers are in `heads/`, `lexicon/` and `models/`.
"""
