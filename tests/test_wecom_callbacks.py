"""WeCom callbacks: the crypto, and the receiver fed by the simulator's signed, encrypted deliveries."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from chatarchive.archive import Archive
from chatarchive.cli.wecom import sim_settings
from chatarchive.wecom_service import ArchiveEventSink, callback_server, pull_once, run_directory_sync
from core.models import Scope
from indexer.source.simulator.generate import simulate
from tests.helpers import cli, running_wecom_sim
from wecom import callback_crypto
from wecom.callback_crypto import CallbackCryptoError
from wecom.callbacks import COLLECTION
from wecom.sim_server import SimServer

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # the 43-character example format


def test_crypto_round_trip_and_tamper_detection() -> None:
    """GIVEN random messages WHEN encrypted and decrypted with the WeCom scheme THEN they round-trip; a
    flipped byte, a foreign receiver id or another key is refused, never returned as garbage."""
    for size in (0, 1, 15, 16, 31, 32, 33, 1000):
        message = os.urandom(size)
        encrypted = callback_crypto.encrypt(message, AES_KEY, "wwcorp")
        assert callback_crypto.decrypt(encrypted, AES_KEY, "wwcorp") == message
        with pytest.raises(CallbackCryptoError):
            callback_crypto.decrypt(encrypted, AES_KEY, "wwother")
    other_key = base64.b64encode(os.urandom(32)).decode()[:43]
    encrypted = callback_crypto.encrypt(b"<xml/>", AES_KEY, "wwcorp")
    with pytest.raises(CallbackCryptoError):
        callback_crypto.decrypt(encrypted, other_key, "wwcorp")
    raw = bytearray(base64.b64decode(encrypted))
    raw[-1] ^= 1
    with pytest.raises(CallbackCryptoError):
        callback_crypto.decrypt(base64.b64encode(bytes(raw)).decode(), AES_KEY, "wwcorp")


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    """GIVEN the four parts WHEN signed THEN the result is SHA1 of their sorted concatenation (any order in)."""
    parts = ["1409659813", "263014780", TOKEN, "enc"]
    expected = hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()
    assert callback_crypto.signature(TOKEN, "1409659813", "263014780", "enc") == expected


class Recorder:
    """Counts what the callbacks set off; the pull and the sync themselves are the product's."""

    def __init__(self) -> None:
        self.pulls = 0
        self.pulled = threading.Event()
        self.syncs = threading.Event()


@pytest.fixture(scope="module")
def sim_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("callbacks") / "archive"
    simulate(out, 300, seed=5, employees=30)
    return out


@pytest.fixture
def setup(sim_archive: Path, tmp_path: Path) -> Iterator[tuple[SimServer, str, Archive, Recorder]]:
    with running_wecom_sim(sim_archive) as sim:
        settings = {**sim_settings(sim_archive, sim.url), "callback_token": TOKEN, "callback_aes_key": AES_KEY}
        archive = Archive.for_cli(data=str(tmp_path / "data"), **settings)
        recorder = Recorder()
        lock = threading.Lock()

        def pull() -> None:
            recorder.pulls += 1
            pull_once(archive, f"sim:{sim_archive}", lock)
            recorder.pulled.set()

        def sync() -> None:
            run_directory_sync(archive, threading.Lock())
            recorder.syncs.set()

        sink = ArchiveEventSink(archive, pull, sync, debounce_s=0.0)
        server = callback_server(archive, sink, host="127.0.0.1", port=0)
        server.start_in_thread()
        try:
            yield sim, f"http://127.0.0.1:{server.server_address[1]}/", archive, recorder
        finally:
            server.shutdown()
            server.server_close()
            server.dispatcher.stop()
            archive.close()


def _deliver(sim: SimServer, url: str, event: dict[str, object], **extra: object) -> dict[str, object]:
    body = {"url": url, "token": TOKEN, "aes_key": AES_KEY, "event": event, **extra}
    return requests.post(sim.url + "/_sim/callback", json=body, timeout=15).json()


def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_url_verification_returns_the_decrypted_echostr(setup: tuple[SimServer, str, Archive, Recorder]) -> None:
    """GIVEN WeCom's GET with an encrypted echostr WHEN signed right THEN the plain echostr comes back;
    with a wrong signature THEN 403."""
    sim, url, _archive, _recorder = setup
    timestamp, nonce = str(int(time.time())), "n1"
    echostr = callback_crypto.encrypt(b"1616140317555161061", AES_KEY, sim.corpid)
    good = callback_crypto.signature(TOKEN, timestamp, nonce, echostr)
    ok = requests.get(
        url, params={"msg_signature": good, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}, timeout=5
    )
    bad = requests.get(
        url, params={"msg_signature": "0" * 40, "timestamp": timestamp, "nonce": "n2", "echostr": echostr}, timeout=5
    )
    assert (ok.status_code, ok.text) == (200, "1616140317555161061")
    assert bad.status_code == 403


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_notify_pulls_and_bad_stale_or_replayed_callbacks_are_refused(
    setup: tuple[SimServer, str, Archive, Recorder],
) -> None:
    """GIVEN msgaudit_notify callbacks from the simulator WHEN one is authentic, one signed with another
    Token, one an hour old and one a replay of the first THEN only the first is accepted and pulls the
    archive (the messages are stored); the others get 403, nothing happens, and every refusal is
    recorded with its reason."""
    sim, url, archive, recorder = setup
    event = {"Event": "msgaudit_notify", "AgentID": 2000004}
    now = int(time.time())
    first = _deliver(sim, url, event, timestamp=now, nonce="abc")
    wrong_token = requests.post(
        sim.url + "/_sim/callback", json={"url": url, "token": "other", "aes_key": AES_KEY, "event": event}, timeout=15
    ).json()
    stale = _deliver(sim, url, event, timestamp=now - 3600, nonce="def")
    replay = _deliver(sim, url, event, timestamp=now, nonce="abc")
    assert first == {"status": 200, "body": "success"}
    assert [wrong_token["status"], stale["status"], replay["status"]] == [403, 403, 403]
    assert recorder.pulled.wait(60) and recorder.pulls == 1
    assert archive.store.checkpoint() > 0 and archive.store.stats(scope=Scope.everything())["messages"] > 0
    reasons = [r["reason"] for r in archive.store.find_records(COLLECTION, {"kind": "callback", "accepted": False})]
    assert any("signature" in r for r in reasons) and any("stale" in r for r in reasons)
    assert any("replayed" in r for r in reasons)


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_change_events_update_the_directory_and_approval_stores_consent(
    setup: tuple[SimServer, str, Archive, Recorder],
) -> None:
    """GIVEN change_contact (with mixed CDATA) and msg_audit_approved callbacks WHEN delivered THEN the
    directory is synced through the API and the customer's consent is stored as agree."""
    sim, url, archive, recorder = setup
    assert (
        _deliver(
            sim, url, {"Event": "change_contact", "ChangeType": "update_user", "UserID": "x", "Department": "1,2"}
        )["status"]
        == 200
    )
    assert recorder.syncs.wait(30)
    assert archive.store.get_record("directory", "org") is not None
    external = "wm" + "Q" * 30
    assert (
        _deliver(
            sim,
            url,
            {
                "Event": "change_external_contact",
                "ChangeType": "msg_audit_approved",
                "UserID": "zhang",
                "ExternalUserID": external,
                "WelcomeCode": "w",
            },
        )["status"]
        == 200
    )
    assert _wait(lambda: archive.store.get_record("consent", f"zhang|{external}") is not None)
    assert archive.store.get_record("consent", f"zhang|{external}")["status"] == "agree"


def test_an_admin_change_in_wecom_reaches_the_directory_through_the_callback(
    setup: tuple[SimServer, str, Archive, Recorder],
) -> None:
    """GIVEN the simulator told where the receiver is WHEN an administrator moves a member in WeCom THEN
    WeCom's change_contact callback is accepted and the resulting sync stores the member's new department,
    with the old one in its history."""
    sim, url, archive, recorder = setup
    run_directory_sync(archive, threading.Lock())
    before = {e["userid"]: e for e in archive.store.get_record("directory", "org")["employees"]}
    mover = next(u for u, e in before.items() if e["status"] == "active" and e["departments"] != [1])
    requests.post(sim.url + "/_sim/callback_target", json={"url": url, "token": TOKEN, "aes_key": AES_KEY}, timeout=5)
    answer = requests.post(
        sim.url + "/_sim/org", json={"move": {"userid": mover, "departments": [1]}}, timeout=15
    ).json()
    assert answer["callback"] == {"status": 200, "body": "success"}
    assert recorder.syncs.wait(30)
    after = {e["userid"]: e for e in archive.store.get_record("directory", "org")["employees"]}
    assert after[mover]["departments"] == [1]
    assert after[mover]["history"][-1]["departments"] == before[mover]["departments"]


def test_callbacks_serve_without_token_or_key_is_refused_in_one_line(tmp_path: Path) -> None:
    """GIVEN no callback_token / callback_aes_key WHEN `callbacks serve` starts THEN exit 2 with one line
    naming the settings, and no server is started."""
    result = cli("callbacks", "serve", "--port", "0", data=tmp_path / "data", expect=2)
    assert "callback_token" in result.output and result.output.strip().count("\n") == 0
