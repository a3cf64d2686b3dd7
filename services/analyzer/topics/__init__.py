"""Topics from the vectors the pipeline already has: nearest `anchors` and the off-topic
background (`topic_data/`), per-topic heads (`classifier`, `calibration`), the `model` the
analyzer tags with and the workspace's topic head versions (`head_store`), and `emerging`
topics.
"""
