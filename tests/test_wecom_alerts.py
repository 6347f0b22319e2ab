"""Reviewer alerts end to end: rules fire during an import, alerts reach the simulated WeCom (message/send and
the group robot) over HTTP and a real SMTP server on loopback, within the limits, masked, once per group, audited."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from apscheduler.schedulers.background import BackgroundScheduler

from chatarchive.archive import Archive
from chatarchive.cli.wecom import sim_settings
from chatarchive.scheduler import IndexerService
from compliance.masking import MASK
from core.models import MessageFilter, Scope, ViolationFilter
from indexer.source.simulator.generate import simulate
from store.embedded import EmbeddedStore
from tests.helpers import cli, running_wecom_sim
from wecom.alert_channels import APP_PER_RECEIVER_PER_MINUTE
from wecom.alerts import Alerter
from wecom.sim_server import SimServer


@pytest.fixture(scope="module")
def sim_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alerts") / "archive"
    simulate(out, 600, seed=9, employees=30)
    return out


@pytest.fixture
def sim(sim_archive: Path) -> Iterator[SimServer]:
    with running_wecom_sim(sim_archive) as server:
        yield server


class Mailbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(str(message))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def _env(archive: Path, sim: SimServer, **extra: str) -> dict[str, str]:
    return {**{f"CHATARCHIVE_{k.upper()}": str(v) for k, v in sim_settings(archive, sim.url).items()}, **extra}


def _reviewer(archive: Path) -> str:
    org = json.loads((archive / "org.json").read_text(encoding="utf-8"))
    return next(e["userid"] for e in org["employees"] if e["status"] == "active")


def _stored(data: Path) -> tuple[list[dict[str, object]], list[dict[str, object]], dict[str, str]]:
    """(violations, audited alerts, message texts by msgid) of one store."""
    store = EmbeddedStore(data)
    try:
        violations = [
            v.to_dict() | {"id": v.id}
            for v in store.list_violations(ViolationFilter(), scope=Scope.everything(), limit=10_000)[1]
        ]
        audit = [r for r in store.find_records("audit") if r.get("action") == "alert"]
        texts = {m.msgid: m.text for m in store.iter_messages(MessageFilter(), scope=Scope.everything())}
    finally:
        store.close()
    return violations, audit, texts


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_fired_rules_reach_wecom_and_the_robot_masked_throttled_once_per_group_and_audited(
    sim_archive: Path, sim: SimServer, tmp_path: Path
) -> None:
    """GIVEN the starter rules, a route for every rule to the app and the robot, and the simulated WeCom
    WHEN the archive is imported THEN alerts arrive at message/send and the webhook with a link to the
    violation and no message text, at most 20 a minute to the reviewer (none dropped by WeCom), each
    violation group at most once, every sent alert audited; the rest go out with the digest."""
    data = tmp_path / "data"
    env = _env(sim_archive, sim)
    reviewer = _reviewer(sim_archive)
    cli("rules", "add", "--starter", data=data, env=env)
    cli("alerts", "route", "*", "--channel", "app", "--channel", "webhook", "--reviewer", reviewer, data=data, env=env)
    cli("import", str(sim_archive / "truth.jsonl"), data=data, env=env)
    sent = requests.get(sim.url + "/_sim/sent", timeout=5).json()
    violations, audit, texts = _stored(data)
    groups = {(v["rule_id"], v.get("group_key") or v["msgid"]) for v in violations}
    assert len(groups) > APP_PER_RECEIVER_PER_MINUTE  # enough hits to exercise the throttle
    immediate = len(sent["message_send"])
    assert 0 < immediate < len(groups) and not sent["dropped"] and len(sent["webhook"]) == immediate
    times = [m["received_s"] for m in sent["message_send"]]
    assert all(sum(1 for u in times if t <= u < t + 60) <= APP_PER_RECEIVER_PER_MINUTE for t in times)
    ids = {v["id"] for v in violations}
    for message in sent["message_send"]:
        card = message["textcard"]
        assert message["touser"] == reviewer and any(card["url"].endswith(requests.utils.quote(i)) for i in ids)
    payloads = json.dumps(sent, ensure_ascii=False)
    flagged_texts = [texts[v["msgid"]] for v in violations if len(texts.get(v["msgid"], "")) >= 6]
    assert flagged_texts and not any(t in payloads for t in flagged_texts)
    assert len(audit) == len(sent["message_send"])
    alerted = [t for a in audit for t in a["target"].split(",")]
    assert len(alerted) == len(set(alerted))

    requests.post(sim.url + "/_sim/advance_clock", json={"seconds": 61}, timeout=5)  # WeCom's next minute
    digest = cli("alerts", "digest", data=data, env=env)
    after = requests.get(sim.url + "/_sim/sent", timeout=5).json()
    assert digest["sent"] == len(groups) - immediate
    assert len(after["message_send"]) == immediate + 1
    assert "汇总" in after["message_send"][-1]["textcard"]["title"]
    assert cli("alerts", "digest", data=data, env=env)["sent"] == 0


def test_email_alert_with_text_shown_is_masked(
    sim_archive: Path, sim: SimServer, tmp_path: Path, smtp: tuple[int, Mailbox]
) -> None:
    """GIVEN an e-mail route and alert_show_text on WHEN a message with a mobile number fires a rule THEN a
    real SMTP server on loopback receives the alert with the number masked."""
    port, mailbox = smtp
    data = tmp_path / "data"
    env = _env(
        sim_archive,
        sim,
        CHATARCHIVE_SMTP_HOST="127.0.0.1",
        CHATARCHIVE_SMTP_PORT=str(port),
        CHATARCHIVE_ALERT_SHOW_TEXT="true",
    )
    rule = tmp_path / "rule.json"
    rule.write_text(
        json.dumps({"name": "私下转账", "keywords": ["私下转账"], "severity": "high"}, ensure_ascii=False),
        encoding="utf-8",
    )
    rule_id = cli("rules", "add", str(rule), data=data, env=env)["ids"][0]
    cli("alerts", "route", rule_id, "--channel", "email", "--email", "audit@example.com", data=data, env=env)
    line = {
        "msgid": "m-email-1",
        "action": "send",
        "from": _reviewer(sim_archive),
        "tolist": ["wm" + "A" * 30],
        "roomid": "",
        "msgtime": 1_790_000_000_000,
        "msgtype": "text",
        "text": {"content": "我们私下转账吧，打给 13812345678"},
    }
    (tmp_path / "one.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    cli("import", str(tmp_path / "one.jsonl"), data=data, env=env)
    assert len(mailbox.messages) == 1
    parsed = email.message_from_string(mailbox.messages[0], policy=email.policy.default)
    body = parsed.get_content()
    assert "私下转账" in str(parsed["Subject"]) and parsed["To"] == "audit@example.com"
    assert "13812345678" not in body and MASK * 11 in body and "私下转账" in body


def test_a_broken_channel_never_stops_archiving_and_the_alert_is_retried(
    sim_archive: Path, sim: SimServer, tmp_path: Path
) -> None:
    """GIVEN a robot route whose webhook key WeCom refuses (93000) WHEN rules fire during an import THEN
    every message is stored anyway, nothing is audited as sent, and the alerts wait in the digest."""
    data = tmp_path / "data"
    env = _env(sim_archive, sim, CHATARCHIVE_WECOM_WEBHOOK_KEY="removed-robot")
    cli("rules", "add", "--starter", data=data, env=env)
    cli("alerts", "route", "*", "--channel", "webhook", data=data, env=env)
    assert cli("import", str(sim_archive / "truth.jsonl"), data=data, env=env)["stored"] == 600
    violations, audit, _texts = _stored(data)
    assert violations and not audit
    store = EmbeddedStore(data)
    try:
        pending = store.get_record("meta", "alert_digest")["items"]
    finally:
        store.close()
    assert len(pending) == len({(v["rule_id"], v.get("group_key") or v["msgid"]) for v in violations})


def test_pipeline_health_alerts_use_the_same_channels_once_per_kind(
    sim_archive: Path, sim: SimServer, tmp_path: Path
) -> None:
    """GIVEN a route for every rule to the robot and a stall alert from the health check WHEN the alert job
    runs twice THEN the robot gets the stall alert once, audited; a new kind of alert goes out again."""
    env = _env(sim_archive, sim)
    data = tmp_path / "data"
    cli("alerts", "route", "*", "--channel", "webhook", data=data, env=env)
    archive = Archive.for_cli(data=str(data), **sim_settings(sim_archive, sim.url))
    try:
        stall = {"kind": "stall", "severity": "error", "message": "no successful pull for 30.0 h"}
        archive.store.put_record("meta", "alerts", {"alerts": [stall]})
        alerter = Alerter.from_settings(archive)
        assert (alerter.send_new_health_alerts(), alerter.send_new_health_alerts()) == (1, 0)
        decrypt = {"kind": "decrypt", "severity": "error", "message": "12 records of publickey_ver 3"}
        archive.store.put_record("meta", "alerts", {"alerts": [stall, decrypt]})
        assert alerter.send_new_health_alerts() == 1
        audited = [r for r in archive.store.find_records("audit") if r.get("action") == "alert"]
    finally:
        archive.close()
    robot = requests.get(sim.url + "/_sim/sent", timeout=5).json()["webhook"]
    assert len(robot) == 2 and "no successful pull" in robot[0]["markdown"]["content"]
    assert "publickey_ver 3" in robot[1]["markdown"]["content"] and len(audited) == 2


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_run_schedules_the_directory_sync_and_alert_jobs_when_wecom_is_configured(
    sim_archive: Path, sim: SimServer, tmp_path: Path
) -> None:
    """GIVEN WeCom settings WHEN `run` builds its schedule THEN the directory sync and alert jobs are in it
    next to the pull; without WeCom settings THEN they are not."""
    with_wecom = Archive.for_cli(data=str(tmp_path / "a"), **sim_settings(sim_archive, sim.url))
    without = Archive.for_cli(data=str(tmp_path / "b"))
    try:
        jobs = []
        for archive in (with_wecom, without):
            scheduler = BackgroundScheduler(timezone=archive.settings.timezone)
            IndexerService(archive, f"sim:{sim_archive}").schedule(scheduler)
            jobs.append({job.id for job in scheduler.get_jobs()})
    finally:
        with_wecom.close()
        without.close()
    assert {"pull", "directory", "alerts"} <= jobs[0]
    assert "pull" in jobs[1] and not {"directory", "alerts"} & jobs[1]


def test_digest_and_off_modes_send_nothing_at_once(sim_archive: Path, sim: SimServer, tmp_path: Path) -> None:
    """GIVEN one rule routed as a digest and every other rule off WHEN the archive is imported THEN nothing is
    sent at once; the digest then sends one summary counting exactly that rule's violation groups."""
    data = tmp_path / "data"
    env = _env(sim_archive, sim)
    cli("rules", "add", "--starter", data=data, env=env)
    cli("alerts", "route", "*", "--mode", "off", data=data, env=env)
    cli("import", str(sim_archive / "truth.jsonl"), data=data, env=env)
    violations, _audit, _texts = _stored(data)
    busiest = max({v["rule_id"] for v in violations}, key=lambda r: sum(v["rule_id"] == r for v in violations))
    groups = {v.get("group_key") or v["msgid"] for v in violations if v["rule_id"] == busiest}
    assert requests.get(sim.url + "/_sim/sent", timeout=5).json()["webhook"] == []

    fresh = tmp_path / "fresh"
    cli("rules", "add", "--starter", data=fresh, env=env)
    cli("alerts", "route", "*", "--mode", "off", data=fresh, env=env)
    cli("alerts", "route", busiest, "--mode", "digest", "--channel", "webhook", data=fresh, env=env)
    cli("import", str(sim_archive / "truth.jsonl"), data=fresh, env=env)
    assert requests.get(sim.url + "/_sim/sent", timeout=5).json()["webhook"] == []
    assert cli("alerts", "digest", data=fresh, env=env)["sent"] == len(groups)
    robot = requests.get(sim.url + "/_sim/sent", timeout=5).json()["webhook"]
    assert len(robot) == 1 and f"{len(groups)} 条待审核" in robot[0]["markdown"]["content"]


def test_a_route_for_an_unknown_rule_or_without_receivers_is_refused(tmp_path: Path) -> None:
    """GIVEN no such rule, or an app route without a reviewer WHEN routed THEN exit 2 with one line, nothing stored."""
    data = tmp_path / "data"
    unknown = cli("alerts", "route", "r-none", "--reviewer", "lisi", data=data, expect=2)
    nobody = cli("alerts", "route", "*", "--channel", "app", data=data, expect=2)
    assert "no rule 'r-none'" in unknown.output and "--reviewer" in nobody.output
    assert cli("alerts", "list", data=data) == {"routes": {}}
