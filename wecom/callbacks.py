"""The WeCom callback receiver (接收事件服务器): its own small HTTP server.

GET answers WeCom's URL verification (the decrypted ``echostr``); POST takes an event. Both are refused
(HTTP 403, nothing processed) unless the ``msg_signature`` is right, the ``timestamp`` is within
``callback_window_s`` of now and the ``nonce`` has not been used within that window. Accepted events
are answered at once ("success") and handled on a worker thread: ``msgaudit_notify`` triggers a pull,
``change_contact`` / ``change_external_contact`` / ``change_external_chat`` a directory sync (coalesced),
``msg_audit_approved`` stores the customer's consent. Every accepted or refused callback is recorded
in the ``events`` record collection (``kind: "callback"``).
"""

from __future__ import annotations

import hmac
import logging
import queue
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from core import clock
from wecom.callback_crypto import CallbackCryptoError, decrypt, signature

log = logging.getLogger(__name__)

COLLECTION = "events"  # the store's collection of pipeline events; callbacks carry kind "callback"
MAX_BODY = 64 * 1024
DIRECTORY_EVENTS = ("change_contact", "change_external_contact", "change_external_chat")


class CallbackRefused(CallbackCryptoError):
    """Not authentic, stale or replayed."""


class EventSink(Protocol):
    def pull_now(self) -> None: ...

    def sync_directory_soon(self) -> None: ...

    def consent_approved(self, userid: str, external: str, when_ms: int) -> None: ...

    def record(self, doc: dict[str, object]) -> None: ...


@dataclass
class CallbackConfig:
    token: str
    encoding_aes_key: str
    corpid: str
    window_s: int = 300


class CallbackVerifier:
    """Signature, freshness and replay checks, then decryption."""

    def __init__(self, config: CallbackConfig, clock: Callable[[], float] = time.time) -> None:
        if not config.token or not config.encoding_aes_key or not config.corpid:
            raise CallbackCryptoError("callbacks need callback_token, callback_aes_key and corpid")
        self.config = config
        self._clock = clock
        self._nonces: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        return self._open(msg_signature, timestamp, nonce, echostr).decode()

    def open_event(self, msg_signature: str, timestamp: str, nonce: str, body: bytes) -> dict[str, str]:
        encrypted = _xml_fields(body).get("Encrypt", "")
        if not encrypted:
            raise CallbackRefused("the body has no <Encrypt> element")
        return _xml_fields(self._open(msg_signature, timestamp, nonce, encrypted))

    def _open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        expected = signature(self.config.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, msg_signature or ""):
            raise CallbackRefused("bad msg_signature")
        try:
            sent = int(timestamp)
        except ValueError:
            raise CallbackRefused("timestamp is not a number") from None
        now = self._clock()
        if abs(now - sent) > self.config.window_s:
            raise CallbackRefused(f"stale timestamp ({int(now - sent)} s from now)")
        self._remember_nonce(f"{timestamp}:{nonce}", now)
        return decrypt(encrypted, self.config.encoding_aes_key, self.config.corpid)

    def _remember_nonce(self, key: str, now: float) -> None:
        with self._lock:
            while self._nonces and next(iter(self._nonces.values())) < now - 2 * self.config.window_s:
                self._nonces.popitem(last=False)
            if key in self._nonces:
                raise CallbackRefused("replayed nonce")
            self._nonces[key] = now


def _xml_fields(xml: bytes | str) -> dict[str, str]:
    """The top-level elements of a callback's XML (CDATA or not). No DTDs or entities: refused."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise CallbackRefused("XML with a DTD is refused")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise CallbackRefused("not XML") from None
    return {child.tag: (child.text or "").strip() for child in root}


def event_key(fields: dict[str, str]) -> str:
    """WeCom may deliver an event again: Event+ChangeType+ids+CreateTime identifies it."""
    ids = [fields.get(k, "") for k in ("UserID", "ExternalUserID", "ChatId", "Id", "TagId")]
    return "|".join([fields.get("Event", ""), fields.get("ChangeType", ""), *ids, fields.get("CreateTime", "")])


class EventDispatcher:
    """Handles accepted events on one worker thread, each event once."""

    def __init__(self, sink: EventSink, *, remember: int = 10_000) -> None:
        self.sink = sink
        self._queue: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember = remember
        self._thread = threading.Thread(target=self._work, name="wecom-callbacks", daemon=True)
        self._thread.start()

    def submit(self, fields: dict[str, str]) -> bool:
        key = event_key(fields)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        self._queue.put(fields)
        return True

    def drain(self, timeout: float = 10.0) -> None:
        """Waits (at most ``timeout`` seconds) until every submitted event was handled."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._queue.put(None)

    def _work(self) -> None:
        while True:
            fields = self._queue.get()
            try:
                if fields is None:
                    return
                self._handle(fields)
            except Exception:  # a failing handler must not stop the receiver
                log.exception("callback handling failed for %s", (fields or {}).get("Event"))
            finally:
                self._queue.task_done()

    def _handle(self, fields: dict[str, str]) -> None:
        event, change = fields.get("Event", ""), fields.get("ChangeType", "")
        if event == "msgaudit_notify":
            self.sink.pull_now()
        elif event == "change_external_contact" and change == "msg_audit_approved":
            when_ms = int(fields.get("CreateTime") or 0) * 1000
            self.sink.consent_approved(fields.get("UserID", ""), fields.get("ExternalUserID", ""), when_ms)
        elif event in DIRECTORY_EVENTS:
            self.sink.sync_directory_soon()
        else:
            log.info("callback event %s/%s ignored", event, change)


class CallbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, verifier: CallbackVerifier, dispatcher: EventDispatcher, host: str = "0.0.0.0", port: int = 8600
    ) -> None:
        self.verifier = verifier
        self.dispatcher = dispatcher
        super().__init__((host, port), _CallbackHandler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        return f"http://{host}:{port}/"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="wecom-callback-server", daemon=True)
        thread.start()
        return thread


class _CallbackHandler(BaseHTTPRequestHandler):
    server: CallbackServer

    def log_message(self, format: str, *args: object) -> None:
        log.debug("callbacks: " + format, *args)

    def do_GET(self) -> None:
        q = self._query()
        try:
            echo = self.server.verifier.verify_url(
                q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
            )
        except CallbackCryptoError as e:
            self._refuse("url verification", str(e))
            return
        self._answer(200, echo)

    def do_POST(self) -> None:
        q = self._query()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._refuse("event", "body too large")
            return
        body = self.rfile.read(length)
        try:
            fields = self.server.verifier.open_event(
                q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), body
            )
        except CallbackCryptoError as e:
            self._refuse("event", str(e))
            return
        fresh = self.server.dispatcher.submit(fields)
        self.server.dispatcher.sink.record(
            {
                "accepted": True,
                "event": fields.get("Event", ""),
                "change_type": fields.get("ChangeType", ""),
                "duplicate": not fresh,
                "time_ms": clock.now_ms(),
            }
        )
        self._answer(200, "success")

    def _query(self) -> dict[str, str]:
        parsed = urllib.parse.urlsplit(self.path)
        return {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}

    def _refuse(self, what: str, reason: str) -> None:
        log.warning("callback refused (%s): %s", what, reason)
        self.server.dispatcher.sink.record(
            {"accepted": False, "what": what, "reason": reason, "time_ms": clock.now_ms()}
        )
        self._answer(403, "refused")

    def _answer(self, status: int, text: str) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
