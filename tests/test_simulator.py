"""The simulated archive: what it contains and how its ground truth lines up with the data.

Every property is checked by brute force over a real generated archive (real RSA keys,
real AES, real files)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from chatarchive.cli import main as cli_main
from core.directory import Directory
from core.errors import BadInput, DecryptError
from indexer.source import simcrypto
from indexer.source.simulator import SimulatorSource, simulate
from indexer.source.simulator.conversations import TZ_OFFSET_MS
from indexer.source.simulator.plant import TERMS, id_card_check_digit, luhn_valid

PROTOCOL_TYPES = {  # protocol doc §5.2 (the official list plus the 2026 additions with known fields)
    "text",
    "image",
    "revoke",
    "agree",
    "disagree",
    "voice",
    "video",
    "card",
    "location",
    "emotion",
    "file",
    "link",
    "weapp",
    "chatrecord",
    "todo",
    "vote",
    "collect",
    "redpacket",
    "meeting",
    "docmsg",
    "markdown",
    "news",
    "calendar",
    "mixed",
    "meeting_voice_call",
    "voip_doc_share",
    "external_redpacket",
    "sphfeed",
    "voiptext",
    "qydiskfile",
    "meeting_notification",
    "switch",
}
N = 3000


def load_truth(directory: Path) -> list[dict[str, Any]]:
    with open(directory / "truth.jsonl", "rb") as f:
        return [json.loads(line.decode("utf-8"), strict=False) for line in f]


def jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("sim") / "archive"
    summary = simulate(out, N, seed=11, employees=30, days=21, fault_rate=0.03)
    return out, summary


@pytest.fixture(scope="module")
def truth(archive) -> list[dict[str, Any]]:
    return load_truth(archive[0])


def test_layout_and_summary(archive) -> None:
    """GIVEN a generated archive THEN every file of the format is there, keys are private
    (0600) and the summary agrees with the files."""
    out, summary = archive
    for name in (
        "sim.json",
        "org.json",
        "chatdata.jsonl",
        "chatdata.idx",
        "truth.jsonl",
        "labels.jsonl",
        "faults.jsonl",
        "media/index.jsonl",
    ):
        assert (out / name).is_file(), name
    sim = json.loads((out / "sim.json").read_text())
    assert sim["messages"] == summary.messages == N
    assert sim["seq_max"] == summary.seq_max
    assert len(sim["corpid"]) == 18 and sim["corpid"].startswith("ww")
    assert summary.faults == len(jsonl(out / "faults.jsonl"))
    assert len(summary.key_versions) >= 3 and summary.withheld_key_versions  # 2+ rotations and a lost key
    assert sorted(int(p.stem[1:]) for p in (out / "keys").glob("*.pem")) == sorted(
        set(summary.key_versions) - set(summary.withheld_key_versions)
    )
    for p in list((out / "keys").glob("*.pem")) + list((out / "withheld-keys").glob("*.pem")):
        assert p.stat().st_mode & 0o777 == 0o600
    headers = {p.read_bytes().splitlines()[0] for p in (out / "keys").glob("*.pem")} | {
        p.read_bytes().splitlines()[0] for p in (out / "withheld-keys").glob("*.pem")
    }
    assert headers == {b"-----BEGIN RSA PRIVATE KEY-----", b"-----BEGIN PRIVATE KEY-----"}  # PKCS#1 and PKCS#8


def test_every_msgtype_appears(archive, truth) -> None:
    """GIVEN a few thousand messages THEN every msgtype of protocol §5.2 and an unknown one appear, text dominant."""
    counts = Counter(m.get("msgtype", "switch") for m in truth)
    assert PROTOCOL_TYPES <= set(counts), PROTOCOL_TYPES - set(counts)
    assert set(counts) - PROTOCOL_TYPES, "an unknown msgtype must appear"
    assert counts["text"] > 0.7 * N
    assert archive[1].msgtypes == dict(counts)


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_truth_decrypts_back_and_faults_are_exactly_the_broken_records(archive, truth) -> None:
    """GIVEN the chat data, the keys (withheld ones included) and truth.jsonl WHEN every record is
    decrypted (RSA with the key of its version, then DecryptData) THEN each intact record gives the
    exact truth bytes, and every record that does not is listed in faults.jsonl with its kind."""
    out, _ = archive
    keys = {
        int(p.stem[1:]): serialization.load_pem_private_key(p.read_bytes(), None)
        for p in list((out / "keys").glob("*.pem")) + list((out / "withheld-keys").glob("*.pem"))
    }
    available = {int(p.stem[1:]) for p in (out / "keys").glob("*.pem")}
    truth_bytes = {}
    with open(out / "truth.jsonl", "rb") as f:
        for line in f:
            msg = json.loads(line.decode(), strict=False)
            truth_bytes[msg["msgid"]] = line[:-1]
    faults = {f["seq"]: f for f in jsonl(out / "faults.jsonl")}
    observed: dict[int, str] = {}
    seen_msgids: Counter[str] = Counter()
    for line in open(out / "chatdata.jsonl", "rb"):
        rec = json.loads(line)
        seen_msgids[rec["msgid"]] += 1
        if seen_msgids[rec["msgid"]] > 1:
            observed[rec["seq"]] = "duplicate_seq"
        try:
            plain = simcrypto.decrypt_data(
                simcrypto.decrypt_random_key(keys[rec["publickey_ver"]], rec["encrypt_random_key"]),
                rec["encrypt_chat_msg"],
            )
        except DecryptError as e:
            observed[rec["seq"]] = {10008: "bad_base64", 10006: "truncated_ciphertext"}[e.code]
            continue
        try:
            json.loads(plain, strict=False)
        except ValueError:
            observed[rec["seq"]] = "bad_json"
            continue
        assert plain == truth_bytes[rec["msgid"]]
        if rec["publickey_ver"] not in available:
            observed[rec["seq"]] = "missing_key"
    assert observed == {s: f["fault"] for s, f in faults.items()}
    assert {f["fault"] for f in faults.values()} == {
        "bad_base64",
        "truncated_ciphertext",
        "bad_json",
        "missing_key",
        "duplicate_seq",
    }
    assert all(faults[s]["msgid"] for s in faults)
    assert set(seen_msgids) == set(truth_bytes) and len(truth) == N  # every message exactly once in truth


def test_records_are_ordered_and_shaped_like_getchatdata(archive, truth) -> None:
    out, _ = archive
    lines = (out / "chatdata.jsonl").read_bytes().splitlines()
    seqs = [json.loads(x)["seq"] for x in lines]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 1
    first = json.loads(lines[0])
    assert list(first) == ["seq", "msgid", "publickey_ver", "encrypt_random_key", "encrypt_chat_msg"]
    assert b" " not in lines[0]
    times = [m.get("msgtime", m.get("time")) for m in truth]
    assert times == sorted(times)
    versions = [json.loads(x)["publickey_ver"] for x in lines]
    assert versions == sorted(versions)  # rotation only moves forward


def test_message_shapes_follow_the_protocol(truth) -> None:
    """GIVEN the decrypted messages THEN envelopes, id shapes and the protocol's quirks are there."""
    text_lines = [json.dumps(m, ensure_ascii=False) for m in truth]
    externals, no_roomid, quotes, controls, big_meeting = 0, 0, 0, 0, 0
    msgids = {m["msgid"] for m in truth}
    for m in truth:
        if m["action"] == "switch":
            assert set(m) == {"msgid", "action", "time", "user"} and m["msgid"].isdigit()
            continue
        assert list(m)[:4] == ["msgid", "action", "from", "tolist"]
        parties = [m["from"], *m["tolist"]]
        involves_outsider = any(p[:2] in ("wm", "wo") and len(p) == 32 for p in parties)
        assert m["msgid"].endswith("_external") == involves_outsider, m
        externals += involves_outsider
        assert re.fullmatch(r"\d+_\d{13}(_external)?", m["msgid"])
        if "roomid" not in m:
            no_roomid += 1
        elif m["roomid"]:
            assert m["roomid"].startswith("wr") and len(m["roomid"]) == 32
        else:
            assert len(m["tolist"]) == 1
        if m["msgtype"] in ("meeting_voice_call", "voip_doc_share"):
            assert "roomid" not in m
        if m["msgtype"] == "revoke":
            assert m["action"] == "recall" and m["revoke"]["pre_msgid"] in msgids
        if m["msgtype"] == "text":
            content = m["text"]["content"]
            quotes += content.startswith("这是一条引用/回复消息：\n")
            controls += bool(re.search(r"[\x00-\x08\x0b\x1f]", content))
        if m["msgtype"] == "meeting":
            big_meeting += m["meeting"]["meetingid"] >= 2**63
        if m["msgtype"] in ("mixed", "chatrecord"):
            for item in m[m["msgtype"]]["item"]:
                assert isinstance(item["content"], str) and isinstance(json.loads(item["content"]), dict)
        if m["msgtype"] == "external_redpacket":
            assert "redpacket" in m
        if m["msgtype"] in ("markdown", "news"):
            assert m["from"].startswith("wb") and m["roomid"]
    assert externals > 0.3 * len(truth) and no_roomid >= 2 and quotes >= 3 and controls >= 1 and big_meeting >= 1
    assert len(set(text_lines)) == len(text_lines)


def test_raw_control_characters_reach_the_plaintext(archive) -> None:
    """A few plaintexts carry raw control characters (strict JSON parsers reject them)."""
    raw = (archive[0] / "truth.jsonl").read_bytes()
    assert re.search(rb"[\x01\x08\x0b\x1f]", raw)
    with pytest.raises(ValueError):
        for line in raw.splitlines():
            json.loads(line)


def test_text_is_varied_and_chinese(truth) -> None:
    texts = [m["text"]["content"] for m in truth if m.get("msgtype") == "text"]
    long_texts = [t for t in texts if len(t) >= 8]
    assert len(set(long_texts)) > 0.8 * len(long_texts)
    assert Counter(long_texts).most_common(1)[0][1] < 0.015 * len(long_texts)
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in texts) > 0.85 * len(texts)


def test_working_hour_rhythm(truth) -> None:
    """Few messages at night and at weekends."""
    times = [m.get("msgtime", m.get("time")) for m in truth]
    hours = Counter(((t + TZ_OFFSET_MS) // 3_600_000) % 24 for t in times)
    night = sum(hours[h] for h in range(0, 7))
    assert night < 0.05 * len(times)
    days = Counter(dt.datetime.fromtimestamp((t + TZ_OFFSET_MS) / 1000, dt.UTC).date() for t in times)
    weekday = [n for d, n in days.items() if d.weekday() < 5]
    weekend = [n for d, n in days.items() if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 1.8 * sum(weekend) / len(weekend)


def test_labels_point_at_messages_that_contain_the_planted_terms(archive, truth) -> None:
    """GIVEN labels.jsonl THEN each labelled message really contains its planted terms, numbers are
    valid (mobile, ID check digit, Luhn), evasive spellings are not the plain term, behaviours match
    the msgtype, about 3 % of messages are labelled, and no unlabelled text holds a plain term."""
    out, _ = archive
    by_id = {m["msgid"]: m for m in truth}
    labels = jsonl(out / "labels.jsonl")
    near = {x["msgid"]: x for x in jsonl(out / "nearmiss.jsonl")}
    assert 0.015 * N < len(labels) < 0.05 * N
    categories = Counter(label for x in labels for label in x["labels"])
    assert {
        "promised_return",
        "private_transaction",
        "kickback",
        "phone",
        "idcard",
        "bankcard",
        "redpacket",
        "file",
        "abuse",
        "evasion",
    } <= set(categories)
    for x in labels:
        m = by_id[x["msgid"]]
        if m["msgtype"] in ("redpacket", "external_redpacket"):
            assert x["labels"] == ["redpacket"]
            continue
        if m["msgtype"] == "file":
            assert x["labels"] == ["file"]
            continue
        content = m["text"]["content"]
        category = x["labels"][0]
        for term in x["terms"]:
            assert term in content
            if "evasion" in x["labels"]:
                assert not any(plain in term for plain in TERMS.get(category, [])) and not re.fullmatch("[0-9]+", term)
            elif category == "phone":
                assert re.fullmatch(r"1[3-9]\d{9}", term)
            elif category == "idcard":
                assert len(term) == 18 and id_card_check_digit(term[:17]) == term[17]
            elif category == "bankcard":
                assert luhn_valid(term) and len(term) in (16, 19)
            else:
                assert term in TERMS[category]
    labelled = {x["msgid"] for x in labels}
    for m in truth:
        if m.get("msgtype") == "file" or m.get("msgtype") in ("redpacket", "external_redpacket"):
            assert m["msgid"] in labelled
        if m.get("msgtype") != "text" or m["msgid"] in labelled or m["msgid"] in near:
            continue
        content = m["text"]["content"]
        assert not any(t in content for terms in TERMS.values() for t in terms), content
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", content), content
    assert near and all(x["terms"][0] in by_id[i]["text"]["content"] and i not in labelled for i, x in near.items())


def test_organisation(archive, truth) -> None:
    """A department tree, employees (some who left, 曾归档), wm/wo customers, wr groups, wb robots;
    left employees send nothing after their archive ended."""
    org = json.loads((archive[0] / "org.json").read_text())
    directory = Directory.from_dict(org)
    names = {d["name"] for d in org["departments"]}
    assert {"总部", "财富管理部", "理财一组", "零售事业部", "教育事业部", "客服中心", "合规部"} <= names
    assert directory.ancestors(3) == [3, 2, 1]
    left = [e for e in org["employees"] if e["status"] == "left"]
    assert left and all(e["archived_until"] for e in left)
    assert all(re.fullmatch(r"w[mo][A-Za-z0-9]{30}", x["id"]) for x in org["externals"])
    assert any("-" in x["name"] for x in org["externals"]) and any(x["corp"] for x in org["externals"])
    assert {g["kind"] for g in org["groups"]} == {"internal", "external"}
    assert all(re.fullmatch(r"wb[A-Za-z0-9]{30}", r["id"]) for r in org["robots"])
    until = {e["userid"]: e["archived_until"] for e in left}
    for m in truth:
        if m.get("from") in until:
            assert m["msgtime"] <= until[m["from"]]
    people = directory.employee_ids | {x["id"] for x in org["externals"]} | {r["id"] for r in org["robots"]}
    assert all(m["from"] in people for m in truth if "from" in m)


def test_same_seed_same_content(tmp_path: Path) -> None:
    """GIVEN two runs with one seed THEN the content is byte-identical (ciphertexts differ: RSA
    padding and per-message keys are random by nature); another seed gives other content; the
    fault rate does not change what people say."""
    a = simulate(tmp_path / "a", 300, seed=5, fault_rate=0.05)
    simulate(tmp_path / "b", 300, seed=5, fault_rate=0.05)
    simulate(tmp_path / "c", 300, seed=6)
    simulate(tmp_path / "d", 300, seed=5)
    for name in ("truth.jsonl", "labels.jsonl", "org.json", "faults.jsonl", "media/index.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "chatdata.jsonl").read_bytes() != (tmp_path / "b" / "chatdata.jsonl").read_bytes()
    assert (tmp_path / "a" / "truth.jsonl").read_bytes() != (tmp_path / "c" / "truth.jsonl").read_bytes()
    texts = lambda d: [m.get("text") for m in load_truth(tmp_path / d)]  # noqa: E731
    assert texts("a") == texts("d")
    assert a.faults > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"messages": 0}, "--messages"),
        ({"messages": 10, "employees": 2}, "--employees"),
        ({"messages": 10, "fault_rate": 2.0}, "--fault-rate"),
        ({"messages": 10, "days": 0}, "--days"),
    ],
    ids=["no-messages", "too-few-employees", "fault-rate", "days"],
)
def test_bad_arguments_are_bad_input_and_write_nothing(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        simulate(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists() and not list(tmp_path.iterdir())


def test_cli_json_output_and_errors(tmp_path: Path) -> None:
    """`chatarchive --json simulate` prints the contract's document; a non-empty --out or a bad
    --end is exit 2 with a one-line message."""
    runner = CliRunner()
    out = tmp_path / "arch"
    result = runner.invoke(
        cli_main,
        [
            "--json",
            "simulate",
            "--out",
            str(out),
            "--messages",
            "200",
            "--seed",
            "2",
            "--fault-rate",
            "0.05",
            "--end",
            "2026-03-01",
            "--days",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"messages", "seq_max", "msgtypes", "key_versions", "faults"}
    assert doc["messages"] == 200 == sum(doc["msgtypes"].values())
    assert doc["faults"] == len(jsonl(out / "faults.jsonl")) > 0
    sim = json.loads((out / "sim.json").read_text())
    assert sim["now_ms"] < int(dt.datetime(2026, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)
    again = runner.invoke(cli_main, ["simulate", "--out", str(out), "--messages", "5"])
    assert again.exit_code == 2 and "not empty" in again.stderr
    bad = runner.invoke(cli_main, ["simulate", "--out", str(tmp_path / "y"), "--messages", "5", "--end", "2026-02-30"])
    assert bad.exit_code == 2 and "--end" in bad.stderr and not (tmp_path / "y").exists()


def test_source_opens_what_simulate_wrote(archive) -> None:
    with SimulatorSource(archive[0]) as src:
        assert src.directory()["corp"]["corpid"] == json.loads((archive[0] / "sim.json").read_text())["corpid"]
        assert set(src.private_key_files()) == set(archive[1].key_versions) - set(archive[1].withheld_key_versions)
        assert len(src.fault_records()) == archive[1].faults
