"""Pull at the edges, end to end: a real simulated archive whose server delivers bad records and
re-deliveries, pulled through the real decryption. Bad records are dead letters, the rest is
stored, and pulled = stored + duplicates + deadletter, as stats agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from indexer.source import simcrypto
from indexer.source.simulator.writer import ArchiveWriter
from tests.helpers import cli, read_jsonl

MAX_CHARS = 5000
ENV = {"CHATARCHIVE_MAX_MESSAGE_CHARS": str(MAX_CHARS)}


def bad_plaintext(kind: str, message: dict[str, Any]) -> bytes:
    """The decrypted JSON of a record the server delivers broken in one field."""
    if kind == "msgtime_word":
        return json.dumps({**message, "msgtime": "yesterday"}, ensure_ascii=False).encode()
    if kind == "msgtime_huge":
        return (
            json.dumps(message, ensure_ascii=False)
            .replace(f'"msgtime": {message["msgtime"]}', '"msgtime": 1e20')
            .encode()
        )
    if kind == "not_utf8":
        return json.dumps(message, ensure_ascii=False).encode()[:-1] + b'\xff"}'
    if kind == "oversize":
        return json.dumps(
            {**message, "msgtype": "text", "text": {"content": "长" * (MAX_CHARS + 1)}}, ensure_ascii=False
        ).encode()
    if kind == "missing_from":
        return json.dumps({k: v for k, v in message.items() if k != "from"}, ensure_ascii=False).encode()
    if kind == "tolist_string":
        return json.dumps({**message, "tolist": "lisi"}, ensure_ascii=False).encode()
    raise ValueError(kind)


BAD = {4: "msgtime_word", 9: "msgtime_huge", 14: "not_utf8", 19: "oversize", 24: "missing_from", 29: "tolist_string"}


def keys_of(archive: Path) -> dict[int, RSAPrivateKey]:
    keys = {}
    for pem in sorted((archive / "keys").glob("v*.pem")):
        key = load_pem_private_key(pem.read_bytes(), password=None)
        assert isinstance(key, RSAPrivateKey)
        keys[int(pem.stem[1:])] = key
    return keys


def craft(base: Path, out: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``base``'s messages re-encrypted into ``out``, with the BAD records broken and two
    re-deliveries at the end: message 0 identical, message 1 with other text."""
    truth = read_jsonl(base / "truth.jsonl")
    keys = keys_of(base)
    version = min(keys)
    writer = ArchiveWriter(out)
    writer.write_org(json.loads((base / "org.json").read_text(encoding="utf-8")))
    for v, key in keys.items():
        writer.write_key(v, key, withheld=False, pkcs8=False)
    bad: dict[str, str] = {}
    plaintexts: list[tuple[str, bytes]] = []
    for i, message in enumerate(truth):
        if i in BAD:
            bad[message["msgid"]] = BAD[i]
            plaintexts.append((message["msgid"], bad_plaintext(BAD[i], message)))
        else:
            plaintexts.append((message["msgid"], json.dumps(message, ensure_ascii=False).encode()))
    changed = {**truth[1], "msgtype": "text", "text": {"content": "这条消息被改过了"}}
    plaintexts.append((truth[0]["msgid"], json.dumps(truth[0], ensure_ascii=False).encode()))
    plaintexts.append((truth[1]["msgid"], json.dumps(changed, ensure_ascii=False).encode()))
    for seq, (msgid, plaintext) in enumerate(plaintexts, 1):
        erk, ecm = simcrypto.encrypt_message(keys[version].public_key(), plaintext)
        writer.write_record(seq, msgid, version, erk, ecm)
    meta = json.loads((base / "sim.json").read_text(encoding="utf-8"))
    writer.close({**meta, "seq_max": len(plaintexts), "fault_rate": 0.0, "transient_fault_rate": 0.0})
    return truth, bad


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]], dict[str, str]]:
    root = tmp_path_factory.mktemp("pull-edges")
    cli("simulate", "--out", str(root / "base"), "--messages", "120", "--seed", "5", "--fault-rate", "0")
    truth, bad = craft(root / "base", root / "crafted")
    return root / "crafted", truth, bad


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_bad_records_are_dead_letters_and_the_counts_add_up(
    crafted: tuple[Path, list[dict[str, Any]], dict[str, str]], data_dir: Path
) -> None:
    """GIVEN an archive with six broken records (a word and 1e20 for msgtime, invalid UTF-8, over
    the size limit, no sender, tolist not a list) and two re-deliveries (one identical, one changed)
    WHEN it is pulled once
    THEN every other message is stored, each broken record is a dead letter at its seq with a reason
    naming the problem, the re-deliveries are duplicates (the changed one a version, the stored text
    unchanged), and pulled = stored + duplicates + deadletter = what stats says"""
    archive, truth, bad = crafted
    result = cli("pull", "--source", f"sim:{archive}", "--once", data=data_dir, env=ENV)
    assert result["pulled"] == len(truth) + 2
    assert result["pulled"] == result["stored"] + result["duplicates"] + result["deadletter"]
    assert (result["stored"], result["duplicates"], result["versions"], result["deadletter"]) == (
        len(truth) - len(bad),
        2,
        1,
        len(bad),
    )
    dead = {d["msgid"]: d["reason"] for d in cli("deadletter", "list", data=data_dir)["items"]}
    assert set(dead) == set(bad)
    expected_words = {
        "msgtime_word": "field msgtime",
        "msgtime_huge": "field msgtime",
        "not_utf8": "not UTF-8",
        "oversize": "max_message_chars",
        "missing_from": "field from",
        "tolist_string": "field tolist",
    }
    for msgid, kind in bad.items():
        assert expected_words[kind] in dead[msgid], (kind, dead[msgid])
    stats = cli("stats", data=data_dir)
    assert (stats["messages"], stats["deadletter"], stats["versions"]) == (result["stored"], len(bad), 1)
    shown = cli("versions", truth[1]["msgid"], data=data_dir)
    assert "这条消息被改过了" not in shown["stored"]["raw"]
    assert ["这条消息被改过了" in v["raw"] for v in shown["versions"]] == [True]


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_a_second_pull_after_raising_the_limit_and_replaying_stores_the_oversize_message(
    crafted: tuple[Path, list[dict[str, Any]], dict[str, str]], data_dir: Path
) -> None:
    """GIVEN the pulled archive with its oversize record dead-lettered
    WHEN max_message_chars is raised and the dead letters are replayed
    THEN the oversize message is stored and the other broken records stay dead letters"""
    archive, _, bad = crafted
    cli("pull", "--source", f"sim:{archive}", "--once", data=data_dir, env=ENV)
    replay = cli(
        "deadletter",
        "replay",
        "--source",
        f"sim:{archive}",
        data=data_dir,
        env={"CHATARCHIVE_MAX_MESSAGE_CHARS": str(MAX_CHARS * 4)},
    )
    assert (replay["replayed"], replay["failed"]) == (1, len(bad) - 1)
    oversize = next(msgid for msgid, kind in bad.items() if kind == "oversize")
    assert oversize not in {d["msgid"] for d in cli("deadletter", "list", data=data_dir)["items"]}
