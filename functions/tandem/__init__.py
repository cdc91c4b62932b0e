"""Tandem: the sales-data backend of small businesses (sync API, async workers, nightly batches)."""
