"""Least privilege on Elasticsearch: ``chatarchive es setup-security`` creates the app's role
and an API key limited to it, and the app connects with the key from a file."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from store.elasticsearch import security
from tests import es_spec
from tests.helpers import cli
from tests.test_es_control_flow import (
    API_KEY,
    P,
    ScriptedTransport,
    make_store,
    recording_server,  # noqa: F401 (a fixture)
)


def test_the_role_grants_only_what_the_backend_does() -> None:
    """GIVEN the app role WHEN inspected THEN it covers the prefix's indices only, with no security or superuser
    privilege,
    and the role and API key requests are valid for their endpoints."""
    role = security.app_role(P)
    assert role["indices"] == [
        {
            "names": [f"{P}-*"],
            "privileges": ["read", "write", "create_index", "manage", "view_index_metadata"],
            "allow_restricted_indices": False,
        }
    ]
    assert set(role["cluster"]) == {"monitor", "manage_index_templates", "manage_ilm"}
    assert not {"all", "manage", "manage_security", "manage_api_key"} & set(role["cluster"])
    assert es_spec.validate_body(role, "/_security/role/{name}", "put") == []
    assert es_spec.validate_body(security.api_key_request(P, name="k"), "/_security/api_key", "post") == []


def test_setup_creates_the_role_then_a_key_limited_to_it() -> None:
    t = ScriptedTransport({("POST", "/_security/api_key"): API_KEY})
    result = security.setup_security(make_store(t).t, P, key_name="ca-app")
    assert [(c.method, c.path) for c in t.calls] == [
        ("PUT", f"/_security/role/{P}_app"),
        ("POST", "/_security/api_key"),
    ]
    assert t.calls[1].body["role_descriptors"] == {f"{P}_app": security.app_role(P)}
    assert result == {
        "role": f"{P}_app",
        "api_key_id": "k1",
        "api_key_name": "chatarchive-app",
        "encoded": API_KEY["encoded"],
    }


def test_the_cli_writes_the_key_to_a_private_file_and_the_app_uses_it(
    recording_server: tuple[str, list[dict[str, Any]]],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    """GIVEN the elastic password in a file WHEN setup-security runs with --key-out THEN the requests carry the admin's
    basic auth, the key file is created 0400 with the encoded key (not printed), and a store opened with
    es_api_key_file sends that key."""
    url, seen = recording_server
    password = tmp_path / "es_password"
    password.write_text("pw\n", encoding="utf-8")
    key_file = tmp_path / "es_api_key"
    result = cli(
        "--backend",
        "elasticsearch",
        "--es-url",
        url,
        "es",
        "setup-security",
        "--password-file",
        str(password),
        "--key-out",
        str(key_file),
        data=tmp_path / "data",
    )
    assert result == {
        "role": "chatarchive_app",
        "api_key_id": "k1",
        "api_key_name": "chatarchive-app",
        "key_file": str(key_file),
    }
    assert API_KEY["encoded"] not in json.dumps(result)
    assert [(r["method"], r["path"]) for r in seen] == [
        ("PUT", "/_security/role/chatarchive_app"),
        ("POST", "/_security/api_key"),
    ]
    assert all(r["authorization"].startswith("Basic ") for r in seen)
    assert key_file.read_text(encoding="utf-8").strip() == API_KEY["encoded"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o400
    refused = cli(
        "--backend",
        "elasticsearch",
        "--es-url",
        url,
        "es",
        "setup-security",
        "--password-file",
        str(password),
        "--key-out",
        str(key_file),
        data=tmp_path / "data",
        expect=2,
    )
    assert "exists already" in refused.output and len(seen) == 2  # an existing key file is never overwritten

    from core.settings import Settings
    from store.elasticsearch.store import ElasticsearchStore

    store = ElasticsearchStore.from_settings(
        Settings(data=str(tmp_path / "data"), backend="elasticsearch", es_url=url, es_api_key_file=str(key_file))
    )
    assert store.checkpoint() == 0
    store.close()
    assert seen[-1]["authorization"] == f"ApiKey {API_KEY['encoded']}"
