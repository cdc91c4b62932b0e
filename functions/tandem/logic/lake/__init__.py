"""The lake: connectors that turn a shop's exports into curated rows, counted and quarantined."""
