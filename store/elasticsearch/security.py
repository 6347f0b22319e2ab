"""The application's least-privilege access to Elasticsearch, created once by an administrator.

``chatarchive es setup-security`` runs this with the ``elastic`` superuser (its password
from a file); the app then runs with the API key it returns and never as a superuser. The
role grants exactly what the backend does: on the prefix's indices, read, write, create
and manage (aliases, settings, refresh, reindex targets, points in time); on the cluster,
index templates and ILM policies (``init``), and ``monitor`` (cluster health, ``_tasks``
for migrations). No security, snapshot or cluster-settings privilege.
"""

from __future__ import annotations

from typing import Any

from store.elasticsearch.transport import RetryingTransport

CLUSTER_PRIVILEGES: tuple[str, ...] = ("monitor", "manage_index_templates", "manage_ilm")
INDEX_PRIVILEGES: tuple[str, ...] = ("read", "write", "create_index", "manage", "view_index_metadata")


def role_name(prefix: str) -> str:
    return f"{prefix}_app"


def app_role(prefix: str) -> dict[str, Any]:
    """PUT /_security/role/{prefix}_app: also usable for a named user instead of an API key."""
    return {
        "cluster": list(CLUSTER_PRIVILEGES),
        "indices": [
            {"names": [f"{prefix}-*"], "privileges": list(INDEX_PRIVILEGES), "allow_restricted_indices": False}
        ],
        "metadata": {"chatarchive": {"purpose": "the chatarchive indexer and dashboard"}},
    }


def api_key_request(prefix: str, *, name: str) -> dict[str, Any]:
    """POST /_security/api_key: a key limited to the app role (an API key made by a superuser
    would otherwise inherit the superuser's privileges)."""
    return {
        "name": name,
        "role_descriptors": {role_name(prefix): app_role(prefix)},
        "metadata": {"chatarchive": {"prefix": prefix}},
    }


def setup_security(transport: RetryingTransport, prefix: str, *, key_name: str) -> dict[str, Any]:
    """Creates (or updates) the role and a new API key; returns the key's id, name and the
    ``encoded`` credential the app reads from ``es_api_key_file``."""
    transport.request("PUT", f"/_security/role/{role_name(prefix)}", body=app_role(prefix))
    key = transport.request("POST", "/_security/api_key", body=api_key_request(prefix, name=key_name), idempotent=False)
    return {"role": role_name(prefix), "api_key_id": key["id"], "api_key_name": key["name"], "encoded": key["encoded"]}
