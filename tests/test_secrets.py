"""Secrets: read from files or the environment, never logged; loose key files warned about."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from compliance import secrets
from core.errors import BadInput


def test_secret_file_is_read_and_then_redacted_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("S3cr3t-archive-value\n", encoding="utf-8")
    path.chmod(0o600)
    assert secrets.read_secret(file=path) == "S3cr3t-archive-value"
    assert secrets.redact("Init with S3cr3t-archive-value failed") == "Init with *** failed"


def test_environment_wins_over_a_literal_and_missing_secret_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_SECRET", "from-the-environment")
    assert secrets.read_secret(value="literal", env="ARCHIVE_SECRET") == "from-the-environment"
    monkeypatch.delenv("ARCHIVE_SECRET")
    with pytest.raises(BadInput, match="no archive Secret"):
        secrets.require_secret(env="ARCHIVE_SECRET", what="archive Secret")


@pytest.mark.parametrize(
    "mode,warned", [(0o600, False), (0o400, False), (0o640, True), (0o644, True)], ids=["600", "400", "640", "644"]
)
def test_key_files_readable_by_others_produce_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", encoding="utf-8")
    key.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="compliance.secrets"):
        data = secrets.read_private_key(key)
    assert data.startswith(b"-----BEGIN")
    assert ("chmod 600" in caplog.text) is warned
    assert "MIIB" not in caplog.text


REDACTIONS = [
    ("pem", "key: -----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY----- end", "key: *** end"),
    ("assignment", "secret=abcdef&corpid=ww1", "secret=***&corpid=ww1"),
    ("json", '{"password": "hunter22", "user": "a"}', '{"password": "***", "user": "a"}'),
    ("harmless", "pulled 1000 records", "pulled 1000 records"),
]


@pytest.mark.parametrize("text,expected", [r[1:] for r in REDACTIONS], ids=[r[0] for r in REDACTIONS])
def test_redact(text: str, expected: str) -> None:
    assert secrets.redact(text) == expected


def test_logging_filter_redacts_records(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.secrets")
    handler_filter = secrets.RedactingFilter()
    log.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="tests.secrets"):
            log.info("connecting with password=%s", "pa55word!")
    finally:
        log.removeFilter(handler_filter)
    assert "pa55word!" not in caplog.text and "password=***" in caplog.text
