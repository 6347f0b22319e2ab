"""The production ctypes binding (indexer.source.sdk) driven end to end through a compiled
stand-in of the vendor SDK (tests/sdkstub/stub.c, built with gcc at test time).

The stub exports the 17 functions of the vendor header with the same ABI and serves a
simulated archive directory (simformat.md): real RSA keys, real AES ciphertext, real files.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import string
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from analyzers.chinese import get_analyzer
from core.directory import Directory
from core.errors import BadInput, DecryptError, SourceError
from core.settings import Settings
from indexer.decrypt import Decryptor, KeyRing, load_private_key
from indexer.source.base import EncryptedRecord, Source
from indexer.source.sdk import SIGNATURES, MediaData_t, RetryPolicy, SdkSource, Slice_t
from indexer.workers import WorkerPool

STUB_DIR = Path(__file__).parent / "sdkstub"
CORPID = "ww0123456789abcdef"
SECRET = "archive-secret-Do-Not-Log-0123456789"
CHUNK = 524288

STUB_ENV_VARS = (
    "WWF_STUB_FAIL_EVERY",
    "WWF_STUB_FAIL_CODE",
    "WWF_STUB_ERRCODE",
    "WWF_STUB_MAX_LIMIT",
    "WWF_STUB_EXPECT_PROXY",
    "WWF_STUB_EXPECT_PASSWD",
    "WWF_STUB_EXPECT_TIMEOUT",
)

# Media sizes: tiny, exactly one chunk, and > 512 KiB (three chunks, the last one partial).
MEDIA_SIZES = {"tiny": 100, "one_chunk": CHUNK, "three_chunks": 2 * CHUNK + 12345}


# ---- fixtures: the compiled stub and a small archive in the simulator's format -------------


@pytest.fixture(scope="session")
def stub_so(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: cannot compile the vendor SDK stub (tests/sdkstub/stub.c)")
    out = tmp_path_factory.mktemp("sdkstub") / "libWeWorkFinanceSdk_C.so"
    cmd = [
        gcc,
        "-shared",
        "-fPIC",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fvisibility=hidden",
        f"-I{STUB_DIR}",
        "-o",
        str(out),
        str(STUB_DIR / "stub.c"),
        "-lcrypto",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"compiling the stub failed:\n{result.stderr}"
    return out


def new_random_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def encrypt_body(random_key: str, plaintext: bytes) -> str:
    """simformat.md: base64(AES-256-CBC(key = the 32 ASCII key bytes, iv = their first 16, PKCS#7))."""
    raw = random_key.encode("ascii")
    padder = sym_padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(raw), modes.CBC(raw[:16])).encryptor()
    padded = padder.update(plaintext) + padder.finalize()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def encrypt_like_wecom(public_key: rsa.RSAPublicKey, plaintext: bytes) -> tuple[str, str, str]:
    """(random_key, encrypt_random_key, encrypt_chat_msg), written independently of the
    simulator's code so the C stub is checked against the spec, not against another implementation."""
    random_key = new_random_key()
    wrapped = public_key.encrypt(random_key.encode("ascii"), padding.PKCS1v15())
    return random_key, base64.b64encode(wrapped).decode(), encrypt_body(random_key, plaintext)


def _write_pem(path: Path, key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))
    path.chmod(0o600)


def make_archive(root: Path, messages: int = 60) -> dict[str, Any]:
    """A tiny archive following simformat.md: two key versions (PKCS#1 and PKCS#8), seq with
    gaps, Chinese text and raw control characters, media files with NUL bytes."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "keys").mkdir()
    (root / "media").mkdir()
    keys = {v: rsa.generate_private_key(public_exponent=65537, key_size=2048) for v in (1, 2)}
    _write_pem(root / "keys" / "v1.pem", keys[1], serialization.PrivateFormat.TraditionalOpenSSL)
    _write_pem(root / "keys" / "v2.pem", keys[2], serialization.PrivateFormat.PKCS8)

    records, truth, random_keys, seq = [], [], [], 0
    with (
        open(root / "chatdata.jsonl", "wb") as data,
        open(root / "chatdata.idx", "wb") as idx,
        open(root / "truth.jsonl", "wb") as truth_file,
    ):
        for i in range(messages):
            seq += 1 + (i % 3 == 2) * 2  # gaps: seq is not contiguous
            msgtime = 1716947123000 + i * 1000
            msgid = f"{9123348812305550000 + i}_{msgtime}"
            quoted = '引号"与\\反斜杠' if i % 5 == 0 else ""
            control = chr(1) if i % 7 == 0 else ""  # raw control characters occur in real plaintexts
            text = f"第{i}条消息：回扣\t返点 {quoted}{control}"
            plain = (
                json.dumps(
                    {
                        "msgid": msgid,
                        "action": "send",
                        "from": "zhangwei",
                        "tolist": ["lina"],
                        "roomid": "",
                        "msgtime": msgtime,
                        "msgtype": "text",
                        "text": {"content": text},
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                .replace("\\u0001", "\x01")
                .encode("utf-8")
            )  # raw, as WeCom sometimes sends them
            version = 1 if i < messages // 2 else 2
            random_key, erk, ecm = encrypt_like_wecom(keys[version].public_key(), plain)
            random_keys.append(random_key)
            item = {
                "seq": seq,
                "msgid": msgid,
                "publickey_ver": version,
                "encrypt_random_key": erk,
                "encrypt_chat_msg": ecm,
            }
            idx.write(struct.pack("<QQ", seq, data.tell()))
            data.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
            truth_file.write(plain + b"\n")
            records.append(item)
            truth.append(plain)

    media = {}
    with open(root / "media" / "index.jsonl", "w") as index:
        for name, size in MEDIA_SIZES.items():
            blob = (hashlib.sha256(name.encode()).digest() + b"\0\0\xff") * (size // 35 + 1)
            blob = blob[:size]
            sdkfileid = base64.b64encode(b"\n\x80" + name.encode() * 40 + b"/+=").decode()
            rel = f"media/{hashlib.sha1(sdkfileid.encode()).hexdigest()}.bin"
            (root / rel).write_bytes(blob)
            md5 = hashlib.md5(blob).hexdigest()
            index.write(
                json.dumps({"sdkfileid": sdkfileid, "file": rel, "md5sum": md5, "size": size, "bad_md5": False}) + "\n"
            )
            media[name] = {"sdkfileid": sdkfileid, "bytes": blob, "md5sum": md5}

    (root / "sim.json").write_text(
        json.dumps(
            {
                "seed": 7,
                "corpid": CORPID,
                "secret": SECRET,
                "messages": messages,
                "seq_max": seq,
                "fault_rate": 0,
                "transient_fault_rate": 0,
                "window_days": 0,
                "now_ms": 1716947123000,
                "key_versions": [1, 2],
                "withheld_key_versions": [],
            }
        )
    )
    return {"dir": root, "records": records, "truth": truth, "media": media, "keys": keys, "random_keys": random_keys}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return make_archive(tmp_path_factory.mktemp("archive") / "sim")


@pytest.fixture
def stub_env(monkeypatch: pytest.MonkeyPatch, archive: dict[str, Any]) -> dict[str, Any]:
    for var in STUB_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WWF_STUB_DIR", str(archive["dir"]))
    return archive


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def source(stub_so: Path, stub_env: dict[str, Any]):
    src = SdkSource(stub_so, CORPID, SECRET, retry=RetryPolicy(attempts=4, initial_delay=0.001), sleep=RecordingSleep())
    yield src
    src.close()


def pull_all(src: SdkSource, limit: int) -> list[EncryptedRecord]:
    out: list[EncryptedRecord] = []
    seq = 0
    while True:
        batch = src.get_chat_data(seq, limit)
        if not batch:
            return out
        out.extend(batch)
        seq = batch[-1].seq


def live_allocations(so: Path) -> int:
    lib = ctypes.CDLL(str(so.resolve()))
    lib.WWFStub_LiveAllocations.restype = ctypes.c_long
    return lib.WWFStub_LiveAllocations()


# ---- the ABI --------------------------------------------------------------------------------


def test_stub_exports_exactly_the_vendor_header_functions(stub_so: Path) -> None:
    """GIVEN the header and the compiled stub
    THEN the header declares exactly the 17 functions the binding declares, and the stub
    exports exactly those (plus its one test-only counter)."""
    header = (STUB_DIR / "WeWorkFinanceSdk_C.h").read_text()
    declared = set(re.findall(r"^\s*[A-Za-z_][\w ]*?\**\s*\*?\s*(\w+)\(", header, re.M))
    assert declared == set(SIGNATURES) and len(SIGNATURES) == 17
    if shutil.which("nm") is None:
        pytest.skip("nm is not installed")
    nm = subprocess.run(["nm", "-D", "--defined-only", str(stub_so)], capture_output=True, text=True, check=True)
    exported = {line.split()[-1] for line in nm.stdout.splitlines() if " T " in line}
    assert exported == set(SIGNATURES) | {"WWFStub_LiveAllocations"}


def test_struct_layouts_match_lp64_abi() -> None:
    assert ctypes.sizeof(Slice_t) == 16
    assert ctypes.sizeof(MediaData_t) == 32
    assert [getattr(MediaData_t, f).offset for f in ("outindexbuf", "out_len", "data", "data_len", "is_finish")] == [
        0,
        8,
        16,
        24,
        28,
    ]


def test_sdk_source_satisfies_the_source_protocol(source: SdkSource) -> None:
    assert isinstance(source, Source)
    assert source.directory() is None


# ---- pulling and decrypting ----------------------------------------------------------------


@pytest.mark.slow
def test_worker_processes_decrypt_with_the_sdk_library(source: SdkSource, stub_env: dict[str, Any]) -> None:
    """GIVEN the compiled SDK stub and its archive WHEN worker processes (indexer.workers), each
    loading the library itself, decrypt, normalize and analyze every record
    THEN each message's raw JSON is truth.jsonl's, in seq order, with its words."""
    records = pull_all(source, 1000)
    keyring = KeyRing.load(stub_env["dir"] / "keys")
    pool = WorkerPool(keyring, source.body_decrypter(), Directory(), get_analyzer(), max_chars=None, processes=2)
    try:
        messages, dead, seconds = pool.submit(records).result()
    finally:
        pool.close()
    assert dead == []
    assert [m.msgid for m in messages] == [r.msgid for r in records]
    assert [m.raw.encode("utf-8") for m in messages] == stub_env["truth"]
    assert any(m.words for m in messages)
    assert set(seconds) == {"worker decrypt", "worker normalize", "worker analyze"}


@pytest.mark.parametrize("limit", [1, 7, 1000], ids=["limit-1", "limit-7", "limit-1000"])
def test_pull_and_decrypt_reproduces_truth(source: SdkSource, stub_env: dict[str, Any], limit: int) -> None:
    """GIVEN an archive of 60 encrypted messages under two key versions
    WHEN the binding pulls from seq 0 until empty and the Decryptor decrypts every record
    THEN the records are the archive's in seq order and every plaintext equals truth.jsonl byte for byte."""
    records = pull_all(source, limit)
    assert [r.to_dict() for r in records] == stub_env["records"]
    keyring = KeyRing.load(stub_env["dir"] / "keys")
    with Decryptor(keyring, source, workers=2) as decryptor:
        plain = decryptor.decrypt_batch(records)
    assert plain == stub_env["truth"]
    # raw control characters survive, and the lenient parse reads them
    assert any(b"\x01" in p for p in plain)
    assert all(json.loads(p.decode(), strict=False)["msgid"] == r.msgid for p, r in zip(plain, records))


def test_get_chat_data_matches_brute_force_reference(source: SdkSource, stub_env: dict[str, Any]) -> None:
    """GIVEN every start seq from 0 to past the end (including seqs inside gaps) and several limits
    THEN GetChatData returns exactly the records with seq > start, oldest first, at most limit."""
    all_records = stub_env["records"]
    seq_max = all_records[-1]["seq"]
    for start in range(0, seq_max + 3):
        for limit in (1, 2, 5, 1000):
            expected = [r for r in all_records if r["seq"] > start][:limit]
            got = [r.to_dict() for r in source.get_chat_data(start, limit)]
            assert got == expected, (start, limit)


def test_huge_seq_is_passed_as_unsigned_64_bit(source: SdkSource) -> None:
    assert source.get_chat_data(2**64 - 1, 10) == []
    assert source.get_chat_data(2**63 + 5, 10) == []


@pytest.mark.parametrize("limit", [0, 1001, -1], ids=["zero", "above-1000", "negative"])
def test_limit_out_of_bounds_is_bad_input(source: SdkSource, limit: int) -> None:
    with pytest.raises(BadInput, match="between 1 and 1000"):
        source.get_chat_data(0, limit)


@pytest.mark.parametrize("limit", [0, 1001], ids=["zero", "above-1000"])
def test_stub_rejects_limit_out_of_bounds_with_10000(stub_so: Path, stub_env: dict[str, Any], limit: int) -> None:
    """The stub itself enforces the SDK's bounds (so the binding's check is not the only guard)."""
    src = SdkSource(stub_so, CORPID, SECRET)
    try:
        lib, handle = src._lib, src._handle()
        s = lib.NewSlice()
        try:
            assert lib.GetChatData(handle, 0, limit, b"", b"", 5, s) == 10000
        finally:
            lib.FreeSlice(s)
    finally:
        src.close()


# ---- DecryptData --------------------------------------------------------------------------


def _good_pair(archive: dict[str, Any]) -> tuple[str, str]:
    return archive["random_keys"][0], archive["records"][0]["encrypt_chat_msg"]


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda k, m: (k[:31], m), 10008),
        (lambda k, m: (k[:31] + "!", m), 10008),
        (lambda k, m: (k, m[:-1]), 10008),
        (lambda k, m: (k, "%%%" + m[3:]), 10008),
        (lambda k, m: ("A" * 32, m), 10006),
        (lambda k, m: (k, base64.b64encode(base64.b64decode(m)[:-5]).decode()), 10006),
        (lambda k, m: (k, "中文"), 10008),
    ],
    ids=[
        "short-key",
        "key-not-alnum",
        "msg-not-base64-length",
        "msg-bad-alphabet",
        "wrong-key",
        "truncated-ciphertext",
        "non-ascii-msg",
    ],
)
def test_decrypt_data_errors(source: SdkSource, stub_env: dict[str, Any], mutate: Any, code: int) -> None:
    """GIVEN a damaged random key or ciphertext
    THEN DecryptData fails with the documented code (10008 unparsable input, 10006 decrypt failed)."""
    key, msg = mutate(*_good_pair(stub_env))
    with pytest.raises(DecryptError) as err:
        source.decrypt_data(key, msg)
    assert err.value.code == code


def test_c_decrypt_data_agrees_with_python_reference(source: SdkSource) -> None:
    """Property: for plaintexts of every length around block boundaries, the stub's DecryptData
    (OpenSSL, C) inverts the specified encryption exactly."""
    key = new_random_key()
    for n in range(0, 70):
        plain = ("数据" * n)[:n].encode() + bytes(range(1, 1 + n % 20))
        assert source.decrypt_data(key, encrypt_body(key, plain)) == plain


def test_c_decrypt_data_agrees_with_the_simulator(source: SdkSource) -> None:
    """The stub's DecryptData and the simulator's (indexer.source.simcrypto) give the same
    plaintext for the same ciphertext, and fail with the same codes."""
    simcrypto = pytest.importorskip("indexer.source.simcrypto")
    key = new_random_key()
    for n in (0, 1, 15, 16, 17, 100):
        plain = ("合规" * n).encode()
        assert source.decrypt_data(key, simcrypto.encrypt_body(key, plain)) == plain
        assert simcrypto.decrypt_data(key, encrypt_body(key, plain)) == plain
    for bad_key, msg in (
        ("x" * 31, encrypt_body(key, b"{}")),
        ("B" * 32, encrypt_body(key, b"{}")),
        (key, "@@@@"),
        (key, base64.b64encode(b"x" * 15).decode()),
        (key, encrypt_body(key, b"\xff\xfe not UTF-8")),
    ):
        with pytest.raises(DecryptError) as c_err:
            source.decrypt_data(bad_key, msg)
        with pytest.raises(DecryptError) as py_err:
            simcrypto.decrypt_data(bad_key, msg)
        assert c_err.value.code == py_err.value.code, (bad_key, msg)


# ---- media ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MEDIA_SIZES), ids=list(MEDIA_SIZES))
def test_media_is_reassembled_from_512k_chunks_and_verified(
    source: SdkSource, stub_env: dict[str, Any], name: str
) -> None:
    """GIVEN a media file (with NUL bytes) of 100 B, exactly 512 KiB or 1.0 MiB
    WHEN it is fetched chunk by chunk
    THEN every non-final chunk is 512 KiB, the Range indexes follow the protocol, and the
    reassembled bytes have the recorded md5."""
    media = stub_env["media"][name]
    size = len(media["bytes"])
    chunks, indexbuf = [], ""
    while True:
        chunk = source.get_media_data(media["sdkfileid"], indexbuf)
        chunks.append(chunk)
        if chunk.is_finish:
            break
        start = sum(len(c.data) for c in chunks)
        assert chunk.outindexbuf == f"Range:bytes={start}-{min(start + CHUNK, size) - 1}"
        indexbuf = chunk.outindexbuf
    assert len(chunks) == max(1, -(-size // CHUNK))
    assert all(len(c.data) == CHUNK for c in chunks[:-1])
    data = source.fetch_media(media["sdkfileid"], md5sum=media["md5sum"], size=size)
    assert data == media["bytes"] and hashlib.md5(data).hexdigest() == media["md5sum"]


def test_media_md5_mismatch_is_reported(source: SdkSource, stub_env: dict[str, Any]) -> None:
    media = stub_env["media"]["three_chunks"]
    with pytest.raises(SourceError, match="md5 mismatch"):
        source.fetch_media(media["sdkfileid"], md5sum="0" * 32)


def test_unknown_sdkfileid_is_fileid_error(source: SdkSource) -> None:
    with pytest.raises(SourceError) as err:
        source.get_media_data("Cp" + "A" * 100, "")
    assert err.value.code == 10005 and not err.value.retryable
    assert "sdkfileid" in str(err.value)


def test_media_chunk_retried_on_transient_error(
    source: SdkSource, stub_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN every 2nd call fails with 10003 (system failure)
    THEN each chunk is retried with the same index and the file still reassembles correctly."""
    monkeypatch.setenv("WWF_STUB_FAIL_EVERY", "2")
    monkeypatch.setenv("WWF_STUB_FAIL_CODE", "10003")
    media = stub_env["media"]["three_chunks"]
    assert source.fetch_media(media["sdkfileid"], md5sum=media["md5sum"]) == media["bytes"]
    assert len(source._sleep.delays) >= 1


# ---- errors and retries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, retryable, advice",
    [
        (10001, True, "proxy"),
        (10002, True, "retried"),
        (10003, True, "retried"),
        (10009, False, "trusted IPs"),
        (10010, False, "5-day window"),
        (10011, False, "CA bundle"),
        (12345, False, "FAQ"),
    ],
    ids=["network", "parse", "system", "ip-illegal", "expired", "certificate", "unknown"],
)
def test_sdk_return_codes_become_source_errors(
    source: SdkSource, monkeypatch: pytest.MonkeyPatch, code: int, retryable: bool, advice: str
) -> None:
    """GIVEN GetChatData fails on every call with a return code
    THEN a SourceError with that code, the right retryable flag and advice is raised; transient
    codes are retried (with exponential backoff) before giving up."""
    monkeypatch.setenv("WWF_STUB_FAIL_EVERY", "1")
    monkeypatch.setenv("WWF_STUB_FAIL_CODE", str(code))
    with pytest.raises(SourceError) as err:
        source.get_chat_data(0, 10)
    assert err.value.code == code and err.value.retryable is retryable
    assert advice in str(err.value) and str(code) in str(err.value)
    if retryable:
        assert source._sleep.delays == [0.001, 0.002, 0.004]  # attempts=4: 3 backoffs, doubling
        assert "gave up after 4 attempts" in str(err.value)
    else:
        assert source._sleep.delays == []


def test_transient_errors_are_retried_transparently(
    source: SdkSource, stub_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN every 3rd GetChatData call fails with 10001 (network error)
    WHEN everything is pulled
    THEN nothing is lost or duplicated."""
    monkeypatch.setenv("WWF_STUB_FAIL_EVERY", "3")
    records = pull_all(source, 5)
    assert [r.to_dict() for r in records] == stub_env["records"]
    assert source._sleep.delays and all(d == 0.001 for d in source._sleep.delays)


@pytest.mark.parametrize(
    "errcode, advice",
    [(301042, "trusted IPs"), (301052, "renew"), (301053, "enable"), (40001, "archive Secret"), (41001, "corpid")],
    ids=["ip-whitelist", "expired", "not-enabled", "invalid-secret", "token-missing"],
)
def test_json_errcode_becomes_source_error(
    source: SdkSource, monkeypatch: pytest.MonkeyPatch, errcode: int, advice: str
) -> None:
    """GIVEN GetChatData returns 0 but the JSON carries a server errcode
    THEN it is a non-retryable SourceError that says what to do and quotes the server's message."""
    monkeypatch.setenv("WWF_STUB_ERRCODE", str(errcode))
    with pytest.raises(SourceError) as err:
        source.get_chat_data(0, 10)
    assert err.value.code == errcode and not err.value.retryable
    assert advice in str(err.value) and "hint:" in str(err.value)


def test_system_busy_errcode_is_retried(source: SdkSource, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WWF_STUB_ERRCODE", "-1")
    with pytest.raises(SourceError) as err:
        source.get_chat_data(0, 10)
    assert err.value.code == -1 and err.value.retryable and len(source._sleep.delays) == 3


def test_wrong_secret_gives_errcode_41001(stub_so: Path, stub_env: dict[str, Any]) -> None:
    """GIVEN the wrong archive Secret THEN Init succeeds but GetChatData answers 41001, as WeCom does."""
    with SdkSource(stub_so, CORPID, "not-the-secret") as src:
        with pytest.raises(SourceError) as err:
            src.get_chat_data(0, 10)
    assert err.value.code == 41001 and "corpid and the archive Secret" in str(err.value)
    assert "not-the-secret" not in str(err.value)


def test_response_too_large_halves_the_limit(
    source: SdkSource, stub_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the server answers 301058 for limit > 10
    WHEN 100 records are asked for
    THEN the binding halves the limit (100, 50, 25, 12, 6) and returns the first 6 records."""
    monkeypatch.setenv("WWF_STUB_MAX_LIMIT", "10")
    got = source.get_chat_data(0, 100)
    assert [r.to_dict() for r in got] == stub_env["records"][:6]


def test_init_failure_is_reported(stub_so: Path, stub_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WWF_STUB_DIR")
    with SdkSource(stub_so, CORPID, SECRET) as src:
        with pytest.raises(SourceError) as err:
            src.get_chat_data(0, 10)
    assert err.value.code == 10000 and "Init failed" in str(err.value)


@pytest.mark.parametrize(
    "corpid, secret, exc, match",
    [("", SECRET, BadInput, "corpid"), (CORPID, "", BadInput, "Secret")],
    ids=["no-corpid", "no-secret"],
)
def test_missing_credentials_are_bad_input(stub_so: Path, corpid: str, secret: str, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        SdkSource(stub_so, corpid, secret)


def test_missing_or_foreign_library_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        SdkSource(tmp_path / "nope.so", CORPID, SECRET)
    (tmp_path / "garbage.so").write_bytes(b"not an ELF file")
    with pytest.raises(SourceError, match="cannot load"):
        SdkSource(tmp_path / "garbage.so", CORPID, SECRET)


def test_from_settings_reads_secret_file_and_never_logs_it(
    stub_so: Path,
    stub_env: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN corpid and a secret_file (mode 0644) in the settings
    THEN the source pulls with that secret, warns about the file mode, and the secret appears
    in no log record and not in the source's repr."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o644)
    for var in ("CHATARCHIVE_SECRET", "CHATARCHIVE_CORPID"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings(data=str(tmp_path / "data"), corpid=CORPID, secret_file=str(secret_file), sdk_timeout=3)
    caplog.set_level("DEBUG")
    monkeypatch.setenv("WWF_STUB_FAIL_EVERY", "2")  # produce retry log lines too
    with SdkSource.from_settings(stub_so, settings, retry=RetryPolicy(initial_delay=0.001)) as src:
        assert len(pull_all(src, 20)) == len(stub_env["records"])
        assert SECRET not in repr(src)
    assert "readable by group/others" in caplog.text
    assert SECRET not in caplog.text


def test_proxy_settings_reach_every_network_call(
    stub_so: Path, stub_env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the SDK only gets through with proxy socks5://10.0.0.1:8081, user:pw and timeout 7
    THEN a source built from settings with those values pulls and fetches media, and a source
    without the proxy fails with a retryable network error that points at the proxy."""
    monkeypatch.setenv("WWF_STUB_EXPECT_PROXY", "socks5://10.0.0.1:8081")
    monkeypatch.setenv("WWF_STUB_EXPECT_PASSWD", "user:pw")
    monkeypatch.setenv("WWF_STUB_EXPECT_TIMEOUT", "7")
    monkeypatch.delenv("CHATARCHIVE_SECRET_FILE", raising=False)
    settings = Settings(
        data=str(tmp_path / "data"),
        corpid=CORPID,
        secret=SECRET,
        proxy="socks5://10.0.0.1:8081",
        proxy_password="user:pw",
        sdk_timeout=7,
    )
    with SdkSource.from_settings(stub_so, settings) as src:
        assert len(pull_all(src, 50)) == len(stub_env["records"])
        media = stub_env["media"]["three_chunks"]
        assert src.fetch_media(media["sdkfileid"], md5sum=media["md5sum"]) == media["bytes"]
    with SdkSource(stub_so, CORPID, SECRET, retry=RetryPolicy(attempts=2, initial_delay=0.0001)) as src:
        with pytest.raises(SourceError) as err:
            src.get_chat_data(0, 10)
    assert err.value.code == 10001 and err.value.retryable and "proxy" in str(err.value)


# ---- memory ownership and threads -----------------------------------------------------------


def test_no_library_memory_leaks_over_many_calls(
    stub_so: Path, stub_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the stub counts every buffer it owns
    WHEN the binding makes hundreds of calls (successes and every kind of failure)
    THEN the count stays flat (every Slice and MediaData freed) and returns to the baseline on close."""
    baseline = live_allocations(stub_so)
    src = SdkSource(stub_so, CORPID, SECRET, retry=RetryPolicy(attempts=2, initial_delay=0.0001))
    src.get_chat_data(0, 1)  # creates this thread's handle
    with_handle = live_allocations(stub_so)
    key, msg = _good_pair(stub_env)
    media = stub_env["media"]["three_chunks"]
    for i in range(100):
        src.get_chat_data(i % 40, 10)
        src.decrypt_data(key, msg)
        with pytest.raises(DecryptError):
            src.decrypt_data("B" * 32, msg)
        with pytest.raises(SourceError):
            src.get_media_data("unknown", "")
    for _ in range(3):
        src.fetch_media(media["sdkfileid"])
    monkeypatch.setenv("WWF_STUB_FAIL_EVERY", "1")
    for _ in range(20):
        with pytest.raises(SourceError):
            src.get_chat_data(0, 10)
    monkeypatch.setenv("WWF_STUB_FAIL_EVERY", "0")
    monkeypatch.setenv("WWF_STUB_ERRCODE", "301042")
    for _ in range(20):
        with pytest.raises(SourceError):
            src.get_chat_data(0, 10)
    assert live_allocations(stub_so) == with_handle
    src.close()
    assert live_allocations(stub_so) == baseline


def test_concurrent_pulls_use_one_handle_per_thread(stub_so: Path, stub_env: dict[str, Any]) -> None:
    """GIVEN one source shared by 4 threads
    WHEN each pulls the whole archive, decrypts it and fetches a 1 MiB media file at the same time
    THEN every thread gets the full, correct result, and 4 handles were made (one per thread)."""
    src = SdkSource(stub_so, CORPID, SECRET)
    keyring = KeyRing.load(stub_env["dir"] / "keys")
    decryptor = Decryptor(keyring, src, workers=1)
    media = stub_env["media"]["three_chunks"]
    results: dict[int, Any] = {}
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        barrier.wait()
        try:
            records = pull_all(src, 3 + n)
            results[n] = (decryptor.decrypt_batch(records), src.fetch_media(media["sdkfileid"]))
        except Exception as e:  # reported below
            results[n] = e

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):
        assert not isinstance(results[n], Exception), results[n]
        assert results[n][0] == stub_env["truth"]
        assert results[n][1] == media["bytes"]
    assert src.live_handles() == 4
    src.close()
    assert src.live_handles() == 0


# ---- the simulator's archive -----------------------------------------------------------------


def simulated_archive(out: Path, messages: int, seed: int, fault_rate: float) -> None:
    """`chatarchive simulate` (the product's command); the same generator through its Python
    API while the command is not registered yet."""
    cmd = [
        sys.executable,
        "-c",
        "from chatarchive.cli import main; main()",
        "--json",
        "simulate",
        "--out",
        str(out),
        "--messages",
        str(messages),
        "--seed",
        str(seed),
        "--fault-rate",
        str(fault_rate),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    if result.returncode != 0 and "No such command" in result.stderr:
        generate = pytest.importorskip("indexer.source.simulator.generate", reason="the simulator has not landed")
        generate.simulate(out, messages, seed=seed, fault_rate=fault_rate)
        return
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_end_to_end_on_simulated_archive(stub_so: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN an archive written by the simulator (faults, transient errors, a withheld key, media)
    WHEN the binding pulls it through the stub and the Decryptor decrypts it with the archive's keys
    THEN every record that is not faulted decrypts to exactly its truth.jsonl line, each faulted one
    fails with its own reason instead of being dropped, records of the withheld key version decrypt
    once that key is added, and every media file reassembles to its bytes with its md5."""
    out = tmp_path / "sim"
    simulated_archive(out, messages=300, seed=11, fault_rate=0.05)
    sim = json.loads((out / "sim.json").read_text())
    monkeypatch.setenv("WWF_STUB_DIR", str(out))
    for var in STUB_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    truth = {}
    for line in (out / "truth.jsonl").read_bytes().splitlines():
        truth[json.loads(line.decode(), strict=False)["msgid"]] = line
    faults = [json.loads(line) for line in (out / "faults.jsonl").read_text().splitlines()]
    faulted = {f["seq"]: f["fault"] for f in faults}
    expected_code = {"bad_base64": 10008, "truncated_ciphertext": 10006, "missing_key": 10007}

    sleep = RecordingSleep()
    with SdkSource(
        stub_so, sim["corpid"], sim["secret"], retry=RetryPolicy(attempts=10, initial_delay=0.0001), sleep=sleep
    ) as src:
        records = pull_all(src, 1000 if sim["transient_fault_rate"] == 0 else 50)
        keyring = KeyRing.load(out / "keys")
        with Decryptor(keyring, src, workers=2) as decryptor:
            plain = decryptor.decrypt_batch(records)
            for version in sim["withheld_key_versions"]:
                keyring.add(version, load_private_key(out / "withheld-keys" / f"v{version}.pem"))
            with_withheld = decryptor.decrypt_batch(records)
        media = [json.loads(line) for line in (out / "media" / "index.jsonl").read_text().splitlines()]
        for entry in media:
            data = src.fetch_media(
                entry["sdkfileid"], size=entry["size"], md5sum="" if entry["bad_md5"] else entry["md5sum"]
            )
            assert data == (out / entry["file"]).read_bytes()

    assert len(records) == len(stub_env_seqs(out))
    assert [r.seq for r in records] == stub_env_seqs(out)
    for record, result, retried in zip(records, plain, with_withheld):
        fault = faulted.get(record.seq)
        if fault in (None, "duplicate_seq"):
            assert result == truth[record.msgid], record.seq
        elif fault == "bad_json":
            assert isinstance(result, bytes) and result != truth[record.msgid]  # decrypts; the JSON is broken
        else:
            assert isinstance(result, DecryptError) and result.code == expected_code[fault], (record.seq, fault)
        if fault == "missing_key":
            assert retried == truth[record.msgid]
    assert sum(isinstance(r, bytes) for r in plain) >= len(records) * 0.8
    assert any(entry["size"] > CHUNK for entry in media), "the simulator should make media > 512 KiB"
    if sim["transient_fault_rate"] > 0:
        assert sleep.delays, "the archive's transient faults should have been retried"


def stub_env_seqs(out: Path) -> list[int]:
    raw = (out / "chatdata.idx").read_bytes()
    return [struct.unpack_from("<QQ", raw, i)[0] for i in range(0, len(raw), 16)]


@pytest.mark.slow
@pytest.mark.parametrize("fail_every", [0, 2], ids=["healthy", "every-2nd-call-fails-10001"])
def test_chatarchive_pull_through_the_vendor_sdk_binding(
    stub_so: Path, stub_env: dict[str, Any], tmp_path: Path, fail_every: int
) -> None:
    """GIVEN the archive's two private keys registered with `chatarchive keys add` and the
    credentials in the environment (and, in one case, an SDK whose every 2nd network call fails
    with 10001, read in batches of 7 so the pull makes many calls)
    WHEN `chatarchive pull --source sdk:PATH --once` runs (the product's own command line)
    THEN every record is pulled, decrypted and stored, none dead-lettered, up to the last seq."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in STUB_ENV_VARS and not k.startswith("CHATARCHIVE_")}
    env.update(
        WWF_STUB_DIR=str(stub_env["dir"]),
        CHATARCHIVE_CORPID=CORPID,
        CHATARCHIVE_SECRET=SECRET,
        CHATARCHIVE_MEDIA="false",
    )
    if fail_every:
        env.update(WWF_STUB_FAIL_EVERY=str(fail_every), CHATARCHIVE_BATCH_SIZE="7")
    cli = [sys.executable, "-c", "from chatarchive.cli import main; main()", "--data", str(data), "--json"]
    for version in (1, 2):
        pem = stub_env["dir"] / "keys" / f"v{version}.pem"
        added = subprocess.run(
            [*cli, "keys", "add", "--version", str(version), "--pem", str(pem)], env=env, capture_output=True, text=True
        )
        assert added.returncode == 0 and json.loads(added.stdout) == {"version": version}, added.stderr
    pulled = subprocess.run(
        [*cli, "pull", "--source", f"sdk:{stub_so}", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    result = json.loads(pulled.stdout)
    n = len(stub_env["records"])
    assert (result["pulled"], result["stored"], result["deadletter"]) == (n, n, 0)
    assert result["last_seq"] == stub_env["records"][-1]["seq"]
    assert SECRET not in pulled.stderr
    if fail_every:  # the failures really happened and the pipeline's backoff absorbed them
        assert "10001" in pulled.stderr and "retrying" in pulled.stderr
