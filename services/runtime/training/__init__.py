"""The analyst's loop: corrections, and retraining the sentiment and topic heads on them."""
