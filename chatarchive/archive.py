"""The core object every front end builds: settings + the store + who is acting.

The CLI, the scheduler and the dashboard all create an ``Archive`` and call the
operations in ``indexer``, ``compliance`` and ``reports`` with it (they see it as
``store.context.ArchiveContext``). Only ``chatarchive init`` opens a store without one, to
report the migration. ``actor`` is who is acting (an account name, or ``system``/``cli:<user>`` for
operators) and ``scope`` what that actor may read.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any

from core.models import Scope
from core.settings import Settings
from store import Store, open_store


@dataclass
class Archive:
    settings: Settings
    actor: str = "system"
    role: str = "super"
    scope: Scope = field(default_factory=Scope.everything)
    operator: str = ""  # who acts on the account's behalf (``cli:<user>`` under ``--as``); "" when it is the actor
    _store: Store | None = None

    @classmethod
    def open(cls, **overrides: Any) -> Archive:
        return cls(settings=Settings(**overrides))

    @classmethod
    def for_cli(cls, **overrides: Any) -> Archive:
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = "unknown"
        return cls(settings=Settings(**overrides), actor=f"cli:{user}")

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings)
            self._store.init()
        return self._store

    def as_account(self, name: str, role: str, scope: Scope, operator: str = "") -> Archive:
        """The same archive seen by another account (shares the open store); ``operator`` names
        who runs it on that account's behalf, so the audit trail records both."""
        return Archive(
            settings=self.settings, actor=name, role=role, scope=scope, operator=operator, _store=self._store
        )

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
