"""Outgoing HTTP below the collector and the notifiers: the address guard and deadlines."""
