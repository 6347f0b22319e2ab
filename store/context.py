"""What the operations below the front ends need from an opened archive.

``chatarchive.archive.Archive`` (a front-end object) satisfies this Protocol; the pipeline,
exports and retention take it typed as ``ArchiveContext`` so that they never import upward.
"""

from __future__ import annotations

from typing import Protocol

from core.models import Scope
from core.settings import Settings
from store.base import Store


class ArchiveContext(Protocol):
    """Settings + the store + who is acting and what they may read."""

    settings: Settings
    actor: str
    role: str
    scope: Scope

    @property
    def store(self) -> Store: ...

    def as_account(self, name: str, role: str, scope: Scope, operator: str = "") -> ArchiveContext: ...
