"""How the backend talks to a cluster: one ``request(method, path, ...)`` call.

``ClientTransport`` wraps the official ``elasticsearch`` 8.x client (imported here,
lazily: the client is an optional dependency). Every other module sees only the
``Transport`` protocol and ``EsError``, so the control-flow tests drive the backend
with a small recording transport instead of a cluster.

``RetryingTransport`` retries what can succeed later (429, 502/503/504, connection
errors) with exponential backoff and turns the rest into the project's errors:
an unreachable cluster is ``StoreUnavailable``, rejected credentials are a
``ChatArchiveError`` that says which settings to check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from core.errors import ChatArchiveError, StoreUnavailable

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that say the cluster refused the request before acting on it: safe to re-send even
# a request that is not idempotent. A timeout, 502 or 504 may hide a request that is running.
REJECTED_STATUSES = frozenset({429, 503})


class EsError(Exception):
    """An error response (``status`` > 0) or a connection failure (``status`` 0)."""

    def __init__(self, status: int, body: Any = None, message: str = "") -> None:
        self.status = status
        self.body = body
        super().__init__(message or f"HTTP {status}: {_reason(body)}")

    @property
    def error_type(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("type", ""))
        return ""


def _reason(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('type', 'error')}: {err.get('reason', '')}"
    return str(body)[:300]


class Transport(Protocol):
    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """The JSON response; raises ``EsError``. A list body is sent as NDJSON (bulk)."""
        ...

    def close(self) -> None: ...


def redact_url(url: str) -> str:
    """The URL without a password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class ClientTransport:
    """The official client, with its own retries off (``RetryingTransport`` retries)."""

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        api_key: str = "",
        ca_certs: str = "",
        timeout: float = 30.0,
    ) -> None:
        try:
            from elasticsearch import Elasticsearch
        except ImportError as e:  # the optional dependency
            raise ChatArchiveError(
                "the Elasticsearch backend needs the elasticsearch client: pip install 'chatarchive[elasticsearch]'"
            ) from e
        # http_compress: gzip request bodies (bulk batches shrink several-fold) and accept gzip responses.
        options: dict[str, Any] = {
            "request_timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "http_compress": True,
        }
        parts = urlsplit(url)
        if parts.username and not (user or api_key):
            user, password = parts.username, parts.password or ""
        if parts.username:
            url = urlunsplit(
                (
                    parts.scheme,
                    parts.hostname + (f":{parts.port}" if parts.port else ""),
                    parts.path,
                    parts.query,
                    parts.fragment,
                )
            )
        if api_key:
            options["api_key"] = api_key
        elif user:
            options["basic_auth"] = (user, password)
        if ca_certs:
            options["ca_certs"] = ca_certs
        self.url = url
        self._client = Elasticsearch(url, **options)

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        from elasticsearch import ApiError, TransportError

        headers = {"accept": "application/vnd.elasticsearch+json; compatible-with=8"}
        if body is not None:
            ndjson = isinstance(body, list)
            headers["content-type"] = (
                "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
                if ndjson
                else "application/vnd.elasticsearch+json; compatible-with=8"
            )
        try:
            response = self._client.perform_request(method, path, params=params or None, headers=headers, body=body)
        except ApiError as e:
            raise EsError(int(e.meta.status), e.body, f"HTTP {e.meta.status}: {_reason(e.body)}") from e
        except TransportError as e:  # connection refused, DNS, TLS, timeout
            raise EsError(0, None, f"{type(e).__name__}: {e.message}") from e
        if method == "HEAD":
            return {"status": response.meta.status}
        return response.body if isinstance(response.body, dict) else {"body": response.body}

    def close(self) -> None:
        self._client.close()


class RetryingTransport:
    """Retries transient failures; maps the rest to ``core.errors``."""

    def __init__(
        self,
        inner: Transport,
        *,
        where: str,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.where = where
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * (2**attempt))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        ok: tuple[int, ...] = (),
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """``ok``: error statuses the caller handles itself (e.g. 404 for "not there").
        ``idempotent=False`` (e.g. starting a reindex): re-sent only if the cluster rejected it
        outright, never after a timeout that may hide a request already running."""
        attempt = 0
        while True:
            try:
                return self.inner.request(method, path, params=params, body=body)
            except EsError as e:
                if e.status in ok:
                    raise
                if idempotent:
                    transient = e.status == 0 or e.status in RETRY_STATUSES
                else:
                    transient = e.status in REJECTED_STATUSES
                if transient and attempt < self.max_retries:
                    wait = self.delay(attempt)
                    logger.warning("Elasticsearch %s %s failed (%s); retrying in %.1fs", method, path, e, wait)
                    self.sleep(wait)
                    attempt += 1
                    continue
                raise self.translate(e, method, path) from e

    def translate(self, e: EsError, method: str, path: str) -> Exception:
        if e.status == 0:
            return StoreUnavailable(
                f"cannot reach Elasticsearch at {self.where}: {e} (check es_url and that the cluster is running)"
            )
        if e.status == 401:
            return ChatArchiveError(
                f"Elasticsearch at {self.where} rejected the credentials (401): "
                "check es_user and es_password/es_password_file, or es_api_key"
            )
        if e.error_type == "cluster_block_exception":
            return StoreUnavailable(
                f"Elasticsearch at {self.where} refuses writes to a blocked index ({_reason(e.body)}): "
                "a migration is running (retry after `chatarchive init` finishes) or the disk is full"
            )
        if e.status == 403:
            return ChatArchiveError(
                f"Elasticsearch at {self.where} refused {method} {path} "
                f"(403): the user lacks a privilege: {_reason(e.body)}"
            )
        if e.status in RETRY_STATUSES:
            return StoreUnavailable(
                f"Elasticsearch at {self.where} is overloaded or unavailable "
                f"(HTTP {e.status}) after {self.max_retries} retries"
            )
        return ChatArchiveError(f"Elasticsearch {method} {path} failed: HTTP {e.status}: {_reason(e.body)}")

    def close(self) -> None:
        self.inner.close()
