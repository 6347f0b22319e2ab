"""Shared fixtures. Tests use real parts: real files in tmp dirs, the real engine, real crypto."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("CHATARCHIVE_TIMEZONE", "Asia/Shanghai")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d
