"""The indexer: source → decrypt → normalize → analyze → match → store, on a schedule."""
