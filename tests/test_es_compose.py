"""The docker-compose deployment, checked as data (no Docker engine runs the tests).

Docker's own validator runs where it is installed (``docker-compose config``, Compose 1.29
from Debian, installed by the test set-up; the file keeps to features every Compose release
accepts). The other tests read docker-compose.yml with PyYAML and check what the operator's
walk-through (docs/elasticsearch.md) relies on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
SETTING_ENV = {s.env for s in SETTINGS}


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (scripts/install-test-tools.sh installs it)",
)
def test_docker_compose_accepts_the_file() -> None:
    """GIVEN the compose file and .env.example WHEN Docker Compose validates them THEN it accepts them."""
    result = subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    return {k: str(v) for k, v in env.items()}


@pytest.mark.parametrize("service", ["es01", "indexer", "dashboard"])
def test_long_running_services_have_health_checks(service: str) -> None:
    check = SERVICES[service]["healthcheck"]
    assert check["test"] and check["interval"] and check["retries"] >= 1


def test_elasticsearch_is_an_8x_single_node_with_security_and_tls() -> None:
    es = SERVICES["es01"]
    assert re.search(r"elasticsearch:\$\{ES_VERSION:-8\.\d+\.\d+\}$", es["image"])
    env = environment("es01")
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true" and env["xpack.security.http.ssl.enabled"] == "true"
    assert env["ELASTIC_PASSWORD_FILE"] == "/run/secrets/es_password"
    assert "ports" not in es, "Elasticsearch must not be published on the host"
    assert COMPOSE["secrets"]["es_password"] == {"file": "${SECRETS_DIR:-./secrets}/es_password"}
    assert not re.search(r"^ELASTIC_PASSWORD=", ENV_EXAMPLE, re.M), "secrets are files, not variables"


@pytest.mark.parametrize("service", ["indexer", "dashboard"])
def test_the_app_reaches_elasticsearch_with_its_api_key_file_and_the_ca(service: str) -> None:
    """GIVEN the app services THEN they connect with the least-privilege API key from a secret file, never as
    elastic."""
    env = environment(service)
    assert env["CHATARCHIVE_BACKEND"] == "elasticsearch"
    assert env["CHATARCHIVE_ES_URL"].startswith("https://es01:9200")
    assert env["CHATARCHIVE_ES_API_KEY_FILE"] == "/run/secrets/es_api_key"
    superuser = {
        "CHATARCHIVE_ES_USER",
        "CHATARCHIVE_ES_PASSWORD",
        "CHATARCHIVE_ES_PASSWORD_FILE",
        "CHATARCHIVE_ES_API_KEY",
    }
    assert not superuser & set(env)
    assert "certs:/certs:ro" in SERVICES[service]["volumes"]
    assert SERVICES[service]["depends_on"]["es01"]["condition"] == "service_healthy"


def test_each_secret_is_mounted_only_where_it_is_needed() -> None:
    """GIVEN the compose file THEN the elastic password reaches only Elasticsearch and the one-off set-up,
    the API key only the app, the WeCom secret only the indexer."""
    readers: dict[str, set[str]] = {}
    for name, service in SERVICES.items():
        for secret in service.get("secrets", []):
            readers.setdefault(secret, set()).add(name)
    assert readers == {
        "es_password": {"es01", "es-setup"},
        "es_api_key": {"indexer", "dashboard"},
        "wecom_secret": {"indexer"},
    }
    assert set(COMPOSE["secrets"]) == set(readers)


def _uid_of_image_user() -> str:
    found = re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    assert found, "the Dockerfile creates no user with a fixed uid"
    return found.group(1)


def test_secret_owners_match_the_processes_that_read_them() -> None:
    """GIVEN scripts/prepare-secrets.sh WHEN dry-run THEN each secret file is owned by the uid of the processes
    that mount it (Elasticsearch and es-setup: 1000; the app image's user for the API key, the WeCom secret and
    the keys), mode 0400."""
    result = subprocess.run(
        ["sh", "scripts/prepare-secrets.sh", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SECRETS_DIR": "S", "PRIVATE_KEYS_DIR": "K"},
    )
    assert result.returncode == 0, result.stderr
    plan = {path: owner for owner, path in re.findall(r"^chown (\S+) (\S+) && chmod", result.stdout, re.MULTILINE)}
    app = f"{_uid_of_image_user()}:{_uid_of_image_user()}"
    assert SERVICES["es-setup"]["user"].split(":")[0] == plan["S/es_password"].split(":")[0] == "1000"
    assert plan["S/es_api_key"] == plan["S/wecom_secret"] == plan["K"] == plan["K/*.pem"] == app
    assert re.findall(r"chmod (\d+) S/", result.stdout) == ["0400", "0400", "0400"]


def test_the_secret_check_reports_wrong_owners_and_modes(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    for name in ("es_password", "es_api_key", "wecom_secret"):
        (tmp_path / "secrets" / name).write_text("x\n")
    result = subprocess.run(
        ["sh", str(ROOT / "scripts/prepare-secrets.sh"), "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "secrets/es_password is" in result.stderr and "missing: ./keys" in result.stderr


def test_the_set_up_service_runs_only_on_demand_and_prints_only_the_key() -> None:
    setup = SERVICES["es-setup"]
    assert setup["profiles"] == ["setup"]
    assert setup["command"][:2] == ["es", "setup-security"] and setup["command"][-2:] == ["--key-out", "-"]
    assert environment("es01")["http.compression"] == "true"


@pytest.mark.parametrize("service", ["indexer", "dashboard"])
def test_app_environment_names_are_real_settings(service: str) -> None:
    """GIVEN the CHATARCHIVE_* variables compose sets THEN each is a setting's environment variable (a typo would be
    ignored silently)."""
    assert set(environment(service)) <= SETTING_ENV


def test_private_keys_sdk_and_secret_are_mounted_read_only() -> None:
    volumes = SERVICES["indexer"]["volumes"]
    assert "${PRIVATE_KEYS_DIR:-./keys}:/keys:ro" in volumes
    assert "${VENDOR_SDK_DIR:-./vendor}:/opt/wecom:ro" in volumes
    assert environment("indexer")["CHATARCHIVE_SOURCE"] == "sdk:/opt/wecom/libWeWorkFinanceSdk_C.so"
    assert environment("indexer")["CHATARCHIVE_SECRET_FILE"] == "/run/secrets/wecom_secret"
    assert "wecom_secret" in SERVICES["indexer"]["secrets"]


def test_named_volumes_are_declared_and_used() -> None:
    declared = set(COMPOSE["volumes"])
    used = {
        v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", []) if not v.startswith(("$", ".", "/"))
    }
    assert used == declared == {"esdata", "certs", "appdata"}


def test_every_interpolated_variable_has_a_default_or_is_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE, re.M))
    for name, default in re.findall(r"(?<!\$)\$\{([A-Z_]+)(:-|:\?)?", text):
        assert default == ":-" or name in documented, f"${{{name}}} has no default and is not in .env.example"


def test_indexer_initialises_the_store_before_running() -> None:
    indexer = SERVICES["indexer"]
    assert "chatarchive init &&" in " ".join(indexer["entrypoint"])
    assert indexer["command"] == ["run"]
    assert SERVICES["dashboard"]["command"][:1] == ["serve"] and "0.0.0.0" in SERVICES["dashboard"]["command"]


def test_dockerfile_copies_existing_paths_and_installs_the_es_client() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    assert "'.[elasticsearch]'" in dockerfile
    assert re.search(r"^USER (?!root)", dockerfile, re.M)
