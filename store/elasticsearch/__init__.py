"""The Elasticsearch backend (production): ``ElasticsearchStore`` implements store.base.Store.

The ``elasticsearch`` client is an optional dependency (``pip install chatarchive[elasticsearch]``):
it is imported only when a store connects, so the core imports without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.elasticsearch.store import ElasticsearchStore

__all__ = ["ElasticsearchStore"]


def __getattr__(name: str) -> Any:
    if name == "ElasticsearchStore":
        # optional: loaded on first use, so importing the package needs no Elasticsearch client
        from store.elasticsearch.store import ElasticsearchStore

        return ElasticsearchStore
    raise AttributeError(name)
