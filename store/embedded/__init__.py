"""The embedded store: tantivy for messages, SQLite for the small state (the default backend)."""

from __future__ import annotations

from store.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore"]
