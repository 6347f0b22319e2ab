"""The WeCom API client against the real HTTP simulator (``wecom-sim serve``) on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from indexer.source.simulator.generate import simulate
from tests.helpers import CHATARCHIVE, REPO, running_wecom_sim
from wecom.client import WeComClient
from wecom.errcodes import WeComError
from wecom.ratelimit import RateLimiter
from wecom.sim_org import simulated_secrets
from wecom.sim_server import SimServer


@pytest.fixture(scope="module")
def sim_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wecom") / "archive"
    simulate(out, 400, seed=3, employees=30)
    return out


@pytest.fixture
def server(sim_archive: Path) -> Iterator[SimServer]:
    with running_wecom_sim(sim_archive) as srv:
        yield srv


def _client(server: SimServer, archive: Path, **kwargs: object) -> WeComClient:
    return WeComClient(server.corpid, simulated_secrets(archive), server.url, retry_delays=(0.0, 0.0, 0.0), **kwargs)  # type: ignore[arg-type]


def test_token_is_cached_per_secret_and_refreshed_when_expired(server: SimServer, sim_archive: Path) -> None:
    """GIVEN a client WHEN it calls twice with one secret, then after the simulator expired every token
    THEN one gettoken serves both calls, and the 42001 answer leads to one new token and success."""
    client = _client(server, sim_archive)
    client.call("GET", "/cgi-bin/department/simplelist", secret="contacts")
    client.call("GET", "/cgi-bin/department/get", secret="contacts", params={"id": 2})
    assert client.calls == 3  # gettoken + 2 calls
    requests.post(server.url + "/_sim/expire_tokens", timeout=5)
    answer = client.call("GET", "/cgi-bin/department/get", secret="contacts", params={"id": 2})
    assert answer["department"]["id"] == 2
    assert client.calls == 6  # 42001, gettoken, retry


def test_busy_and_rate_limit_errcodes_are_retried(server: SimServer, sim_archive: Path) -> None:
    """GIVEN injected -1 and 45009 answers WHEN a call is made THEN it is retried until it succeeds."""
    client = _client(server, sim_archive)
    requests.post(server.url + "/_sim/faults", json={"path": "/cgi-bin/user/get", "errcode": -1, "count": 1}, timeout=5)
    requests.post(
        server.url + "/_sim/faults", json={"path": "/cgi-bin/user/get", "errcode": 45009, "count": 2}, timeout=5
    )
    userid = client.call("POST", "/cgi-bin/msgaudit/get_permit_user_list", secret="archive")["ids"][0]
    assert client.call("GET", "/cgi-bin/user/get", secret="contacts", params={"userid": userid})["userid"] == userid


def test_persistent_rate_limit_gives_up_with_a_clear_error(server: SimServer, sim_archive: Path) -> None:
    """GIVEN 45009 on every call WHEN the retries run out THEN the error names the API and the errcode."""
    client = _client(server, sim_archive)
    requests.post(
        server.url + "/_sim/faults", json={"path": "/cgi-bin/department/get", "errcode": 45009, "count": 9}, timeout=5
    )
    with pytest.raises(WeComError) as info:
        client.call("GET", "/cgi-bin/department/get", secret="contacts", params={"id": 1})
    assert info.value.errcode == 45009 and "frequency limit" in str(info.value)


@pytest.mark.slow  # over a second: make test, not make test-fast
@pytest.mark.parametrize(("errcode", "words"), [(60020, "企业可信IP"), (301042, "IP"), (48002, "not permitted")])
def test_configuration_errcodes_explain_what_to_change(
    server: SimServer, sim_archive: Path, errcode: int, words: str
) -> None:
    """GIVEN a configuration errcode WHEN it comes back THEN it is raised at once with an explanation."""
    client = _client(server, sim_archive)
    requests.post(
        server.url + "/_sim/faults",
        json={"path": "/cgi-bin/department/list", "errcode": errcode, "count": 1},
        timeout=5,
    )
    with pytest.raises(WeComError) as info:
        client.call("GET", "/cgi-bin/department/list", secret="contacts")
    assert words in str(info.value) and info.value.action == "fail"


def test_wrong_secret_kind_is_refused_and_secrets_never_leak(
    server: SimServer, sim_archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN the archive secret used for the directory, and a wrong secret WHEN calls fail THEN the errors
    are 48002 / 40001, and neither the messages, the logs nor repr() contain a secret or a token."""
    caplog.set_level(logging.DEBUG)
    secrets = simulated_secrets(sim_archive)
    client = _client(server, sim_archive)
    with pytest.raises(WeComError) as wrong_kind:
        client.call("GET", "/cgi-bin/department/simplelist", secret="archive")
    bad = WeComClient(server.corpid, {"contacts": "not-the-secret"}, server.url, retry_delays=())
    with pytest.raises(WeComError) as wrong_secret:
        bad.call("GET", "/cgi-bin/department/simplelist", secret="contacts")
    unreachable = WeComClient(server.corpid, secrets, "http://127.0.0.1:9", retry_delays=())
    with pytest.raises(WeComError) as offline:
        unreachable.call("GET", "/cgi-bin/department/simplelist", secret="contacts")
    assert wrong_kind.value.errcode == 48002 and wrong_secret.value.errcode == 40001
    texts = [str(wrong_kind.value), str(wrong_secret.value), str(offline.value), repr(client), caplog.text]
    for text in texts:
        assert not any(value in text for value in [*secrets.values(), "not-the-secret"])
        assert not re.search(r"(access_token|corpsecret)=[^*]", text)


def test_cursor_pagination_returns_every_row_once(server: SimServer, sim_archive: Path) -> None:
    """GIVEN user/list_id with a small page WHEN paginated THEN the rows equal one unpaged call's rows."""
    client = _client(server, sim_archive)
    paged = list(
        client.paginate("POST", "/cgi-bin/user/list_id", secret="contacts", items="dept_user", body={"limit": 4})
    )
    whole = client.call("POST", "/cgi-bin/user/list_id", secret="contacts", body={"limit": 10000})["dept_user"]
    assert paged == whole and len(whole) > 8


def test_rate_limiter_never_allows_more_than_the_limit_in_any_window() -> None:
    """GIVEN a 5-per-10-s limiter on a fake clock WHEN 40 calls arrive at random times THEN no 10-s window
    holds more than 5 accepted calls (brute force over every accepted call)."""
    now = [0.0]
    limiter = RateLimiter(5, 10.0, clock=lambda: now[0], sleep=lambda s: None)
    rng = random.Random(1)
    accepted = []
    for _ in range(200):
        now[0] += rng.uniform(0, 1.5)
        if limiter.try_acquire("k"):
            accepted.append(now[0])
    assert accepted
    for t in accepted:
        assert sum(1 for u in accepted if t <= u < t + 10.0) <= 5


@pytest.mark.slow  # over a second: make test, not make test-fast
@pytest.mark.parametrize("errcode", [40014, 42001, 42009])
def test_an_invalid_or_expired_token_is_refreshed_once(server: SimServer, sim_archive: Path, errcode: int) -> None:
    """GIVEN WeCom answering that the token is invalid or expired WHEN a call is made THEN the client gets a
    new token and retries once; a second such answer in a row is raised, not looped on."""
    client = _client(server, sim_archive)
    client.call("GET", "/cgi-bin/department/simplelist", secret="contacts")
    requests.post(
        server.url + "/_sim/faults", json={"path": "/cgi-bin/department/get", "errcode": errcode, "count": 1}, timeout=5
    )
    assert client.call("GET", "/cgi-bin/department/get", secret="contacts", params={"id": 1})["department"]["id"] == 1
    assert list(client.call_log).count("/cgi-bin/gettoken") == 2
    requests.post(
        server.url + "/_sim/faults", json={"path": "/cgi-bin/department/get", "errcode": errcode, "count": 2}, timeout=5
    )
    with pytest.raises(WeComError) as info:
        client.call("GET", "/cgi-bin/department/get", secret="contacts", params={"id": 1})
    assert info.value.errcode == errcode


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_wecom_sim_serve_command_serves_until_stopped(sim_archive: Path, tmp_path: Path) -> None:
    """GIVEN `chatarchive wecom-sim serve --archive DIR --port 0` as its own process WHEN it prints its URL
    and settings THEN the client gets a token and the departments from it; a directory that is not a
    simulated archive is refused with exit 2 and one line."""
    process = subprocess.Popen(
        [*CHATARCHIVE, "wecom-sim", "serve", "--archive", str(sim_archive), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        first = json.loads(process.stdout.readline()) if process.stdout else {}
        settings = first["settings"]
        client = WeComClient(settings["corpid"], {"contacts": settings["wecom_contacts_secret"]}, first["url"])
        assert client.call("GET", "/cgi-bin/department/simplelist", secret="contacts")["department_id"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    refused = subprocess.run(
        [*CHATARCHIVE, "wecom-sim", "serve", "--archive", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "not a simulated archive" in refused.stderr
