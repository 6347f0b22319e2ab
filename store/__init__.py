"""The store: where messages, violations and the product's small state live.

``store.base.Store`` is the one interface; ``store.embedded`` (tantivy + SQLite, the
default) and ``store.elasticsearch`` implement it. ``open_store(settings)`` picks one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from store.base import AGG_FIELDS, RECORD_COLLECTIONS, Store
from store.embedded import EmbeddedStore

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["AGG_FIELDS", "RECORD_COLLECTIONS", "Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """The configured backend, opened (not initialised: call ``init()`` to create/migrate)."""
    if settings.backend == "elasticsearch":
        # optional: the Elasticsearch backend (and its client) load only when it is configured
        from store.elasticsearch import ElasticsearchStore

        return ElasticsearchStore.from_settings(settings)
    return EmbeddedStore(settings.data_dir, read_only=is_read_only(settings))


def is_read_only(settings: Settings) -> bool:
    """The read_only setting, or a data directory this process cannot write (an evidence copy)."""
    data = settings.data_dir
    return bool(settings.read_only) or (data.is_dir() and not os.access(data, os.W_OK))
