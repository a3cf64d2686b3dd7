"""The mention as the analyzer judges it and an analyst corrects it: its judged text and
exact-copy `fingerprint`, and the analyst's `corrections` applied over the model's labels.
"""
