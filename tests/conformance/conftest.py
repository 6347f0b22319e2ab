"""The conformance suite states the store's behaviour once; every backend must pass it.

``store`` is parametrized over the backends: the embedded engine always, Elasticsearch
when ES_URL points at a cluster (skipped with the reason otherwise). Each test gets an
empty, initialised store of its own (a tmp dir, or a unique index prefix that is
deleted afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.models import Batch, Message
from store.base import Store

ES_URL = os.environ.get("ES_URL", "")


def make_store(backend: str, tmp_path: Path) -> Store:
    if backend == "embedded":
        from store.embedded import EmbeddedStore

        return EmbeddedStore(tmp_path / "store")
    from core.settings import Settings
    from store.elasticsearch import ElasticsearchStore

    settings = Settings(data=str(tmp_path / "store"), backend="elasticsearch", es_url=ES_URL)
    return ElasticsearchStore.from_settings(settings, index_prefix=f"test-{uuid.uuid4().hex[:10]}")


BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "elasticsearch",
        id="elasticsearch",
        marks=[
            pytest.mark.es,
            pytest.mark.skipif(
                not ES_URL, reason="ES_URL is not set: no Elasticsearch cluster to run the conformance suite against"
            ),
        ],
    ),
]


@contextmanager
def opened_store(backend: str, path: Path, messages: Sequence[Message] = ()) -> Iterator[Store]:
    """An initialised store of ``backend`` (holding ``messages``), dropped and closed afterwards."""
    s = make_store(backend, path)
    s.init()
    assert isinstance(s, Store)
    if messages:
        s.write_batch(Batch(messages=list(messages), checkpoint=len(messages)))
        s.refresh()
    try:
        yield s
    finally:
        drop = getattr(s, "drop_all", None)  # Elasticsearch: delete the test indices
        if backend == "elasticsearch" and drop is not None:
            drop()
        s.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with opened_store(request.param, tmp_path) as s:
        yield s
