"""Private keys (KeyRing, `chatarchive keys`) and batch decryption (Decryptor), with real RSA
keys, real PEM files on disk and the simulator's real cipher."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chatarchive.cli import main
from core.errors import BadInput, DecryptError
from indexer.decrypt import Decryptor, KeyRing, decrypt_random_key, fingerprint, load_private_key
from indexer.source import simcrypto
from indexer.source.base import EncryptedRecord

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("a", "b", "c")}


def write_pem(path: Path, key: rsa.RSAPrivateKey, fmt: str, password: str | None = None, mode: int = 0o600) -> Path:
    formats = {"pkcs1": serialization.PrivateFormat.TraditionalOpenSSL, "pkcs8": serialization.PrivateFormat.PKCS8}
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, formats[fmt], encryption))
    path.chmod(mode)
    return path


def record(key: rsa.RSAPrivateKey, version: int, plaintext: bytes, seq: int = 1) -> EncryptedRecord:
    erk, ecm = simcrypto.encrypt_message(key.public_key(), plaintext)
    return EncryptedRecord(
        seq=seq, msgid=f"m{seq}", publickey_ver=version, encrypt_random_key=erk, encrypt_chat_msg=ecm
    )


class SimulatorCipher:
    """The simulator's DecryptData (real AES), as a source's decrypt_data."""

    name = "sim-cipher"

    def decrypt_data(self, encrypt_key: str, encrypt_msg: str) -> bytes:
        return simcrypto.decrypt_data(encrypt_key, encrypt_msg)


# ---- loading keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, password",
    [("pkcs1", None), ("pkcs8", None), ("pkcs1", PASSWORD), ("pkcs8", PASSWORD)],
    ids=["pkcs1", "pkcs8", "pkcs1-password", "pkcs8-password"],
)
def test_keyring_loads_every_pem_flavour(
    tmp_path: Path, keys: dict[str, Any], monkeypatch: pytest.MonkeyPatch, fmt: str, password: str | None
) -> None:
    """GIVEN keys.yaml naming a PEM file (PKCS#1 or PKCS#8, plain or password-protected via an env var)
    WHEN the KeyRing loads DATA/keys
    THEN the record encrypted for that version decrypts to its random key."""
    write_pem(tmp_path / "v4.pem", keys["a"], fmt, password)
    entry = {"file": "v4.pem", "password_env": "TEST_KEY_PW" if password else ""}
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump({"keys": {4: entry}}))
    if password:
        monkeypatch.setenv("TEST_KEY_PW", password)
    ring = KeyRing.load(tmp_path)
    assert ring.versions() == [4]
    rec = record(keys["a"], 4, b'{"msgid":"m1"}')
    assert decrypt_random_key(ring, rec) == simcrypto.decrypt_random_key(keys["a"], rec.encrypt_random_key)


def test_keyring_without_keys_yaml_scans_the_simulator_layout(tmp_path: Path, keys: dict[str, Any]) -> None:
    write_pem(tmp_path / "v1.pem", keys["a"], "pkcs1")
    write_pem(tmp_path / "v2.pem", keys["b"], "pkcs8")
    (tmp_path / "notes.pem").write_text("ignored")
    assert KeyRing.load(tmp_path).versions() == [1, 2]


@pytest.mark.parametrize(
    "given, match",
    [("wrong", "wrong password"), (None, "password-protected")],
    ids=["wrong-password", "no-password"],
)
def test_password_problems_are_clear(tmp_path: Path, keys: dict[str, Any], given: str | None, match: str) -> None:
    path = write_pem(tmp_path / "v1.pem", keys["a"], "pkcs8", PASSWORD)
    with pytest.raises(BadInput, match=match):
        load_private_key(path, given.encode() if given else None)


def test_unloadable_key_is_remembered_not_fatal(
    tmp_path: Path, keys: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN version 1 loads and version 2's password env var holds the wrong password
    THEN the ring still serves version 1, and version 2's records fail with the load problem (10007)."""
    write_pem(tmp_path / "v1.pem", keys["a"], "pkcs1")
    write_pem(tmp_path / "v2.pem", keys["b"], "pkcs8", PASSWORD)
    (tmp_path / "keys.yaml").write_text(
        yaml.safe_dump({"keys": {1: {"file": "v1.pem"}, 2: {"file": "v2.pem", "password_env": "TEST_KEY_PW"}}})
    )
    monkeypatch.setenv("TEST_KEY_PW", "wrong")
    ring = KeyRing.load(tmp_path)
    assert ring.versions() == [1]
    with pytest.raises(DecryptError) as err:
        decrypt_random_key(ring, record(keys["b"], 2, b"{}"))
    assert err.value.code == 10007 and "could not be loaded" in str(err.value) and "wrong password" in str(err.value)


def test_missing_version_says_how_to_fix_it(keys: dict[str, Any]) -> None:
    ring = KeyRing({1: keys["a"]})
    with pytest.raises(DecryptError) as err:
        decrypt_random_key(ring, record(keys["b"], 7, b"{}"))
    assert err.value.code == 10007
    assert str(err.value) == "no private key for publickey_ver 7: add it with chatarchive keys add"


def test_loose_permissions_warn_without_leaking_key_material(
    tmp_path: Path, keys: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a key file with mode 0644
    THEN loading warns (naming the file and chmod 600) and no log line contains key material."""
    path = write_pem(tmp_path / "v1.pem", keys["a"], "pkcs1", mode=0o644)
    caplog.set_level(logging.DEBUG)
    assert KeyRing.load(tmp_path).versions() == [1]
    assert "readable by group/others" in caplog.text and "chmod 600" in caplog.text
    body_lines = [line for line in path.read_text().splitlines() if not line.startswith("-----")]
    assert not any(line in caplog.text for line in body_lines)


def test_tight_permissions_do_not_warn(tmp_path: Path, keys: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    write_pem(tmp_path / "v1.pem", keys["a"], "pkcs1", mode=0o600)
    caplog.set_level(logging.DEBUG)
    KeyRing.load(tmp_path)
    assert "readable" not in caplog.text


@pytest.mark.parametrize(
    "damage, code",
    [
        (lambda r: r.__class__(**{**r.to_dict(), "encrypt_random_key": "not base64!"}), 10008),
        (lambda r: r.__class__(**{**r.to_dict(), "encrypt_random_key": r.encrypt_random_key[:-8] + "AAAAAA=="}), None),
    ],
    ids=["bad-base64", "damaged-ciphertext"],
)
def test_damaged_random_key_is_a_decrypt_error(keys: dict[str, Any], damage: Any, code: int | None) -> None:
    """A damaged encrypt_random_key never yields a usable key: base64 errors are 10008; RSA
    failures are 10006, or 10008 when OpenSSL's implicit rejection returns non-text."""
    ring = KeyRing({1: keys["a"]})
    rec = damage(record(keys["a"], 1, b"{}"))
    source = SimulatorCipher()
    with pytest.raises(DecryptError) as err:
        source.decrypt_data(decrypt_random_key(ring, rec), rec.encrypt_chat_msg)
    assert err.value.code == code if code else err.value.code in (10006, 10008)


def test_wrong_key_for_a_version_is_a_decrypt_error(keys: dict[str, Any]) -> None:
    ring = KeyRing({1: keys["b"]})  # the registered key is not the one the record was made with
    rec = record(keys["a"], 1, b"{}")
    result = Decryptor(ring, SimulatorCipher(), workers=1).decrypt_one(rec)
    assert isinstance(result, DecryptError) and result.code in (10006, 10008)


# ---- batches ---------------------------------------------------------------------------------


def test_parallel_batch_equals_sequential_in_record_order(keys: dict[str, Any]) -> None:
    """GIVEN 120 records under two versions, some for a missing version, some with damaged bodies
    WHEN decrypted with 1 worker and with 2 workers
    THEN both give the same results in record order, and the good ones equal their plaintexts."""
    ring = KeyRing({1: keys["a"], 2: keys["b"]})
    records, expected = [], []
    for i in range(120):
        plain = json.dumps({"msgid": f"m{i}", "text": {"content": f"消息{i}" * (i % 9)}}, ensure_ascii=False).encode()
        version = (1, 2, 9)[i % 3] if i % 10 == 0 else (1, 2)[i % 2]
        rec = record(keys["c"] if version == 9 else keys["a" if version == 1 else "b"], version, plain, seq=i)
        if i % 17 == 5:
            rec = EncryptedRecord(**{**rec.to_dict(), "encrypt_chat_msg": rec.encrypt_chat_msg[:-24]})  # truncated body
        records.append(rec)
        expected.append(plain)

    def summary(results: list[bytes | DecryptError]) -> list[Any]:
        return [r if isinstance(r, bytes) else ("error", r.code, str(r)) for r in results]

    sequential = Decryptor(ring, SimulatorCipher(), workers=1).decrypt_batch(records)
    with Decryptor(ring, SimulatorCipher(), workers=2) as parallel:
        assert summary(parallel.decrypt_batch(records)) == summary(sequential)
    for i, (rec, result) in enumerate(zip(records, sequential)):
        if rec.publickey_ver == 9:
            assert isinstance(result, DecryptError) and result.code == 10007
        elif i % 17 == 5:
            assert isinstance(result, DecryptError)
        else:
            assert result == expected[i]


def test_empty_batch() -> None:
    assert Decryptor(KeyRing(), SimulatorCipher(), workers=2).decrypt_batch([]) == []


# ---- chatarchive keys ---------------------------------------------------------------------------


def run(data: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["--data", str(data), "--json", "keys", *args], env=env, catch_exceptions=False)


def test_keys_add_registers_a_private_copy(tmp_path: Path, data_dir: Path, keys: dict[str, Any]) -> None:
    """GIVEN a PKCS#1 PEM readable by everyone
    WHEN `chatarchive keys add --version 3` registers it
    THEN it prints {"version": 3}, copies it to DATA/keys/v3.pem with mode 0600, records it in
    keys.yaml, and the KeyRing loaded from DATA/keys decrypts version-3 records."""
    pem = write_pem(tmp_path / "mine.pem", keys["a"], "pkcs1", mode=0o644)
    result = run(data_dir, "add", "--version", "3", "--pem", str(pem))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"version": 3}
    copy = data_dir / "keys" / "v3.pem"
    assert copy.read_bytes() == pem.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    listed = yaml.safe_load((data_dir / "keys" / "keys.yaml").read_text())["keys"][3]
    assert listed["file"] == "v3.pem" and listed["fingerprint"] == fingerprint(keys["a"])
    rec = record(keys["a"], 3, b"{}")
    assert decrypt_random_key(KeyRing.load(data_dir / "keys"), rec)


def test_keys_add_password_protected_then_list(tmp_path: Path, data_dir: Path, keys: dict[str, Any]) -> None:
    pem = write_pem(tmp_path / "p.pem", keys["b"], "pkcs8", PASSWORD)
    env = {"TEST_KEY_PW": PASSWORD}
    result = run(data_dir, "add", "--version", "5", "--pem", str(pem), "--password-env", "TEST_KEY_PW", env=env)
    assert result.exit_code == 0, result.output
    listing = run(data_dir, "list", env=env)
    assert listing.exit_code == 0
    items = json.loads(listing.stdout)["keys"]
    assert [(i["version"], i["fingerprint"], i["mode"], i["warnings"]) for i in items] == [
        (5, fingerprint(keys["b"]), "0600", [])
    ]
    assert "PRIVATE KEY" not in listing.output and PASSWORD not in listing.output


@pytest.mark.parametrize(
    "fmt, password, env, extra, match",
    [
        ("pkcs8", PASSWORD, {}, ["--password-env", "TEST_KEY_PW"], "TEST_KEY_PW"),
        ("pkcs8", PASSWORD, {"TEST_KEY_PW": "nope"}, ["--password-env", "TEST_KEY_PW"], "wrong password"),
        ("pkcs8", PASSWORD, {}, [], "password-protected"),
        ("small", None, {}, [], "RSA-1024"),
        ("garbage", None, {}, [], "not a PEM private key"),
        ("ec", None, {}, [], "not an RSA private key"),
    ],
    ids=["password-env-unset", "wrong-password", "no-password-given", "rsa-1024", "not-pem", "ec-key"],
)
def test_keys_add_rejects_bad_keys_with_exit_2(
    tmp_path: Path,
    data_dir: Path,
    keys: dict[str, Any],
    fmt: str,
    password: str | None,
    env: dict[str, str],
    extra: list[str],
    match: str,
) -> None:
    """GIVEN a key that cannot be used THEN keys add exits 2 with a clear message and writes nothing."""
    pem = tmp_path / "k.pem"
    if fmt == "small":
        write_pem(pem, rsa.generate_private_key(public_exponent=65537, key_size=1024), "pkcs8")
    elif fmt == "garbage":
        pem.write_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    elif fmt == "ec":
        from cryptography.hazmat.primitives.asymmetric import ec

        pem.write_bytes(
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    else:
        write_pem(pem, keys["a"], fmt, password)
    os.environ.pop("TEST_KEY_PW", None)
    result = run(data_dir, "add", "--version", "1", "--pem", str(pem), *extra, env=env)
    assert result.exit_code == 2
    assert match in result.output and result.stdout == ""
    assert not (data_dir / "keys" / "v1.pem").exists()


def test_keys_add_never_replaces_a_different_key(tmp_path: Path, data_dir: Path, keys: dict[str, Any]) -> None:
    first = write_pem(tmp_path / "a.pem", keys["a"], "pkcs1")
    other = write_pem(tmp_path / "b.pem", keys["b"], "pkcs1")
    assert run(data_dir, "add", "--version", "1", "--pem", str(first)).exit_code == 0
    assert run(data_dir, "add", "--version", "1", "--pem", str(first)).exit_code == 0  # same key: idempotent
    result = run(data_dir, "add", "--version", "1", "--pem", str(other))
    assert result.exit_code == 2 and "already has a different key" in result.output
    assert (data_dir / "keys" / "v1.pem").read_bytes() == first.read_bytes()


def test_keys_list_warns_about_loose_permissions(tmp_path: Path, data_dir: Path, keys: dict[str, Any]) -> None:
    pem = write_pem(tmp_path / "a.pem", keys["a"], "pkcs1")
    assert run(data_dir, "add", "--version", "2", "--pem", str(pem)).exit_code == 0
    (data_dir / "keys" / "v2.pem").chmod(0o640)
    item = json.loads(run(data_dir, "list").stdout)["keys"][0]
    assert item["mode"] == "0640" and any("chmod 600" in w for w in item["warnings"])


def test_keys_list_empty(data_dir: Path) -> None:
    result = run(data_dir, "list")
    assert result.exit_code == 0 and json.loads(result.stdout) == {"keys": []}
