"""Settings are parsed strictly: closed sets are choices, times and weekdays have a shape,
and a bad value from any layer (config.yaml, environment, CLI) is a one-line BadInput."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import BadInput
from core.settings import SETTINGS, Settings, setting_or_default
from tests.helpers import cli

BAD = [
    ("consent_policy", "forget", "keep, mask, exclude"),
    ("retention_action", "shred", "delete, mask"),
    ("backend", "sqlite", "embedded, elasticsearch"),
    ("working_hours", "banana", "09:00-18:00"),
    ("working_hours", "18:00-09:00", "start before end"),
    ("working_hours", "25:00-26:00", "09:00-18:00"),
    ("working_days", "1,2,8", "1 = Monday"),
    ("working_days", "mon,tue", "1 = Monday"),
]


@pytest.mark.parametrize(("name", "value", "says"), BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_a_value_outside_the_setting_is_refused_naming_what_is_allowed(
    data_dir: Path, name: str, value: str, says: str
) -> None:
    """GIVEN a bad value for a closed-set or shaped setting WHEN settings load THEN BadInput names
    the setting and what it accepts."""
    with pytest.raises(BadInput) as raised:
        Settings(data=str(data_dir), **{name: value})
    assert name in str(raised.value) and says in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("layer", ["config", "environment"])
def test_a_bad_value_from_the_config_file_or_environment_is_refused_too(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, layer: str
) -> None:
    """GIVEN consent_policy=forget in config.yaml or CHATARCHIVE_CONSENT_POLICY WHEN settings load THEN BadInput."""
    if layer == "config":
        (data_dir / "config.yaml").write_text("consent_policy: forget\n", encoding="utf-8")
    else:
        monkeypatch.setenv("CHATARCHIVE_CONSENT_POLICY", "forget")
    with pytest.raises(BadInput, match="consent_policy"):
        Settings(data=str(data_dir))


def test_the_cli_reports_a_bad_setting_in_one_line_without_a_traceback(data_dir: Path) -> None:
    """GIVEN retention_action=shred in the environment WHEN a command runs THEN it fails with one clear line."""
    result = cli("stats", data=data_dir, expect=2, env={"CHATARCHIVE_RETENTION_ACTION": "shred"})
    assert "Traceback" not in result.output
    assert "retention_action" in result.output and "delete, mask" in result.output


@pytest.mark.parametrize(
    ("name", "value", "parsed"),
    [
        ("consent_policy", "MASK", "mask"),
        ("backend", "elasticsearch", "elasticsearch"),
        ("working_hours", "08:30-17:30", "08:30-17:30"),
        ("working_days", "1, 2,3", "1,2,3"),
    ],
)
def test_valid_values_are_accepted_and_normalised(data_dir: Path, name: str, value: str, parsed: str) -> None:
    """GIVEN a valid value WHEN settings load THEN it is kept, normalised."""
    assert getattr(Settings(data=str(data_dir), **{name: value}), name) == parsed


def test_every_default_is_valid_and_is_what_library_callers_get() -> None:
    """GIVEN no settings WHEN a library caller asks for a setting THEN it gets the parsed default."""
    for s in SETTINGS:
        assert setting_or_default(None, s.name) == s.parse(s.default)


def test_saved_settings_are_validated_private_and_applied(data_dir: Path) -> None:
    """GIVEN settings WHEN a bad value is saved THEN nothing is written; WHEN good values are saved THEN
    config.yaml (which may hold WeCom secrets) is 0600, the values apply at once and on the next load."""
    settings = Settings(data=str(data_dir))
    with pytest.raises(BadInput, match="consent_policy"):
        settings.save({"consent_policy": "forget"})
    assert not (data_dir / "config.yaml").exists()
    settings.save({"consent_policy": "mask", "wecom_app_secret": "s3cret-app"})
    assert settings.consent_policy == "mask"
    assert (data_dir / "config.yaml").stat().st_mode & 0o777 == 0o600
    assert Settings(data=str(data_dir)).wecom_app_secret == "s3cret-app"
