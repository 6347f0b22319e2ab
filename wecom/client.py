"""The WeCom server API client: tokens per secret, retries, client-side rate limits, cursor pagination.

One ``WeComClient`` per corp. ``secrets`` maps a secret's role (``archive``, ``contacts``, ``customer``,
``app``) to its value; each call names the role it needs (wecom-http-apis.md §0.1). Tokens are cached
per secret until shortly before they expire and refreshed once on 40014/42001/42009. Busy and
rate-limit errcodes (-1, 45009, 45011, 45033) and network errors are retried with backoff. Every other
errcode becomes a ``WeComError`` that explains it. Secrets, tokens and webhook keys are never logged
and never appear in an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from wecom.errcodes import RATE_LIMIT_ERRCODES, WeComError, action_for
from wecom.ratelimit import RateLimiter
from wecom.redact import install as install_log_redaction

log = logging.getLogger(__name__)
install_log_redaction()

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_MARGIN_S = 300  # refresh a token this long before WeCom says it expires
JsonDict = dict[str, Any]  # JSON from the wire: each reader checks the shape it needs

# Client-side limits per API path and minute, below WeCom's 10 000/min per corp and API (§6.1).
DEFAULT_PER_MINUTE = 6000
PER_MINUTE: dict[str, int] = {
    "/cgi-bin/gettoken": 60,
    "/cgi-bin/webhook/send": 20,  # per robot (§4.2)
    "/cgi-bin/msgaudit/check_single_agree": 600,
    "/cgi-bin/msgaudit/check_room_agree": 600,
}


@dataclass
class _Token:
    value: str
    expires_at: float


class WeComClient:
    """``call(method, path, secret=ROLE, params=…, body=…)`` → the response JSON (errcode 0)."""

    def __init__(
        self,
        corp_id: str,
        secrets: Mapping[str, str],
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
        per_minute: Mapping[str, int] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.corp_id = corp_id
        self._secrets = dict(secrets)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_delays = retry_delays
        self._limits = {**PER_MINUTE, **(per_minute or {})}
        self._limiters: dict[int, RateLimiter] = {}
        self._session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self.calls = 0  # HTTP requests made
        # the last API paths called, in order (no parameters: they may hold secrets); bounded for `run`
        self.call_log: deque[str] = deque(maxlen=10_000)

    def __repr__(self) -> str:  # never show the secrets
        return f"WeComClient(corp_id={self.corp_id!r}, secrets={sorted(self._secrets)}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ calls
    def call(
        self,
        method: str,
        path: str,
        *,
        secret: str,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
        wait_out_limits: bool = True,
    ) -> JsonDict:
        """One API call with the token of ``secret``; retries busy/rate-limit errcodes, refreshes the
        token once when WeCom says it is invalid or expired. ``wait_out_limits=False``: a rate-limit
        errcode is raised at once (the caller defers the work instead of sleeping)."""
        refreshed = False
        for attempt in range(len(self.retry_delays) + 1):
            query = {**(params or {}), "access_token": self._token(secret)}
            try:
                return self._request(method, path, query, body, key=path)
            except WeComError as e:
                if e.action == "token" and not refreshed:
                    self._forget_token(secret)
                    refreshed = True
                    continue
                if (
                    e.action != "retry"
                    or attempt >= len(self.retry_delays)
                    or (not wait_out_limits and e.errcode in RATE_LIMIT_ERRCODES)
                ):
                    raise
                log.info("WeCom %s: errcode %s, retrying in %.1f s", path, e.errcode, self.retry_delays[attempt])
                self._sleep(self.retry_delays[attempt])
        raise WeComError(path, 0, "gave up after retries")

    def webhook(self, key: str, body: Mapping[str, object], *, wait_out_limits: bool = True) -> JsonDict:
        """Posts to a group robot (``/cgi-bin/webhook/send?key=KEY``); the key is the credential."""
        return self._with_retries(
            "/cgi-bin/webhook/send",
            lambda: self._request(
                "POST", "/cgi-bin/webhook/send", {"key": key}, body, key=f"/cgi-bin/webhook/send#{_fingerprint(key)}"
            ),
            wait_out_limits=wait_out_limits,
        )

    def paginate(
        self,
        method: str,
        path: str,
        *,
        secret: str,
        items: str,
        body: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        cursor_field: str = "cursor",
    ) -> Iterator[JsonDict]:
        """Yields the elements of ``items`` over every page, passing ``next_cursor`` back as ``cursor``
        (in the body for POST, in the query for GET) until it comes back empty."""
        cursor = ""
        seen: set[str] = set()
        while True:
            if method == "POST":
                page = self.call(
                    method, path, secret=secret, params=params, body={**(body or {}), cursor_field: cursor}
                )
            else:
                page = self.call(
                    method, path, secret=secret, params={**(params or {}), cursor_field: cursor}, body=body
                )
            yield from _as_dicts(page.get(items))
            cursor = str(page.get("next_cursor") or "")
            if not cursor:
                return
            if cursor in seen:  # a server that repeats a cursor would loop forever
                raise WeComError(path, 0, "the server repeated a pagination cursor")
            seen.add(cursor)

    # ------------------------------------------------------------------ tokens
    def _token(self, secret: str) -> str:
        with self._lock:
            cached = self._tokens.get(secret)
            if cached is not None and cached.expires_at > self._clock():
                return cached.value
        if secret not in self._secrets or not self._secrets[secret]:
            raise WeComError("gettoken", 0, f"no {secret!r} secret is configured (setting wecom_{secret}_secret)")
        response = self._with_retries(
            "/cgi-bin/gettoken",
            lambda: self._request(
                "GET",
                "/cgi-bin/gettoken",
                {"corpid": self.corp_id, "corpsecret": self._secrets[secret]},
                None,
                key="/cgi-bin/gettoken",
            ),
        )
        value = str(response.get("access_token") or "")
        if not value:
            raise WeComError("gettoken", 0, "the response carries no access_token")
        expires_in = _as_int(response.get("expires_in"), 7200)
        with self._lock:
            self._tokens[secret] = _Token(value, self._clock() + max(expires_in - TOKEN_MARGIN_S, expires_in // 2))
        return value

    def _forget_token(self, secret: str) -> None:
        with self._lock:
            self._tokens.pop(secret, None)

    # ------------------------------------------------------------------ HTTP
    def _with_retries(self, api: str, do: Callable[[], JsonDict], *, wait_out_limits: bool = True) -> JsonDict:
        for attempt in range(len(self.retry_delays) + 1):
            try:
                return do()
            except WeComError as e:
                if (
                    e.action != "retry"
                    or attempt >= len(self.retry_delays)
                    or (not wait_out_limits and e.errcode in RATE_LIMIT_ERRCODES)
                ):
                    raise
                self._sleep(self.retry_delays[attempt])
        raise WeComError(api, 0, "gave up after retries")

    def _request(
        self, method: str, path: str, query: Mapping[str, object], body: Mapping[str, object] | None, *, key: str
    ) -> JsonDict:
        self._limiter(path).acquire(key)
        self.calls += 1
        self.call_log.append(path)
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params={k: str(v) for k, v in query.items()},
                data=json.dumps(dict(body), ensure_ascii=False).encode() if body is not None else None,
                headers={"Content-Type": "application/json; charset=utf-8"} if body is not None else None,
                timeout=self.timeout,
            )
        except requests.RequestException as e:
            # The exception text holds the URL and with it the token or the secret: keep only its kind.
            raise WeComError(path, 0, f"cannot reach {self.base_url} ({type(e).__name__})") from None
        if response.status_code >= 500:
            raise WeComError(path, -1, f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise WeComError(path, 0, f"HTTP {response.status_code}, not a JSON response") from None
        if not isinstance(data, dict):
            raise WeComError(path, 0, "the response is not a JSON object")
        errcode = _as_int(data.get("errcode"), 0)
        if errcode != 0:
            if action_for(errcode) == "retry":
                log.info("WeCom %s: errcode %s", path, errcode)
            raise WeComError(path, errcode)
        return data

    def _limiter(self, path: str) -> RateLimiter:
        limit = self._limits.get(path, DEFAULT_PER_MINUTE)
        if limit not in self._limiters:
            self._limiters[limit] = RateLimiter(limit, 60.0, clock=self._clock, sleep=self._sleep)
        return self._limiters[limit]


def _fingerprint(key: str) -> str:
    """A short, non-reversible name for a webhook key (rate limiting per robot without keeping the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _as_int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _as_dicts(value: object) -> list[JsonDict]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]
