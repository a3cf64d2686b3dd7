"""Emerging topics: the recent mentions no topic fits, clustered."""
