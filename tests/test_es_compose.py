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


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed (scripts/install-test-tools.sh installs it)")
def test_docker_compose_accepts_the_file() -> None:
    """GIVEN the compose file and .env.example WHEN Docker Compose validates them THEN it accepts them."""
    result = subprocess.run(["docker-compose", "--env-file", ".env.example", "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
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
def test_the_app_reaches_elasticsearch_with_the_password_file_and_the_ca(service: str) -> None:
    env = environment(service)
    assert env["CHATARCHIVE_BACKEND"] == "elasticsearch"
    assert env["CHATARCHIVE_ES_URL"].startswith("https://es01:9200")
    assert env["CHATARCHIVE_ES_PASSWORD_FILE"] == "/run/secrets/es_password"
    assert "CHATARCHIVE_ES_PASSWORD" not in env, "the password goes in a file, not the environment"
    assert "certs:/certs:ro" in SERVICES[service]["volumes"]
    assert SERVICES[service]["depends_on"]["es01"]["condition"] == "service_healthy"


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
    used = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", []) if not v.startswith(("$", ".", "/"))}
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
