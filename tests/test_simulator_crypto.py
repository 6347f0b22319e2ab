"""The simulator's stand-in cipher (protocol doc §4.3): real RSA-2048 PKCS#1 v1.5 + AES-256-CBC."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DecryptError
from indexer.source import simcrypto
from tests.helpers import examples

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@settings(max_examples=examples(40))
@given(st.text(min_size=0, max_size=400))
def test_round_trip_for_any_text(text: str) -> None:
    """GIVEN any UTF-8 text WHEN encrypted with the public key THEN the private key and
    decrypt_data give back exactly its bytes."""
    plaintext = text.encode("utf-8", "ignore")  # lone surrogates cannot be UTF-8
    erk, ecm = simcrypto.encrypt_message(KEY.public_key(), plaintext)
    assert len(erk) == 344 and erk.endswith("==")
    random_key = simcrypto.decrypt_random_key(KEY, erk)
    assert len(random_key) == 32 and random_key.isalnum() and random_key.isascii()
    assert simcrypto.decrypt_data(random_key, ecm) == plaintext


def test_every_message_gets_a_fresh_random_key() -> None:
    keys = {simcrypto.decrypt_random_key(KEY, simcrypto.encrypt_message(KEY.public_key(), b"x")[0]) for _ in range(20)}
    assert len(keys) == 20


def _valid() -> tuple[str, str]:
    erk, ecm = simcrypto.encrypt_message(KEY.public_key(), "你好，报价单已发您邮箱。")
    return simcrypto.decrypt_random_key(KEY, erk), ecm


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda k, m: (k[:31], m), 10008),
        (lambda k, m: (k[:31] + "!", m), 10008),
        (lambda k, m: ("", m), 10008),
        (lambda k, m: (k, m[:10] + "!!" + m[12:]), 10008),
        (lambda k, m: (k, base64.b64encode(base64.b64decode(m)[:-5]).decode()), 10006),
        (lambda k, m: (k, ""), 10006),
        (lambda k, m: (("B" if k[0] == "A" else "A") + k[1:], m), 10006),
    ],
    ids=["short-key", "key-bad-char", "empty-key", "bad-base64", "truncated", "empty-body", "wrong-key"],
)
def test_failures_have_the_sdk_codes(mutate, code: int) -> None:
    """GIVEN a broken key or body WHEN decrypt_data runs THEN it raises DecryptError with
    10008 (unparseable key or base64) or 10006 (length, padding or UTF-8 wrong)."""
    key, msg = mutate(*_valid())
    with pytest.raises(DecryptError) as e:
        simcrypto.decrypt_data(key, msg)
    assert e.value.code == code


def test_non_utf8_plaintext_is_10006() -> None:
    key = "A" * 32
    ecm = simcrypto.encrypt_body(key, b"\xff\xfe not utf-8")
    with pytest.raises(DecryptError) as e:
        simcrypto.decrypt_data(key, ecm)
    assert e.value.code == 10006


def test_rsa_with_the_wrong_private_key_fails_cleanly() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    erk, _ = simcrypto.encrypt_message(KEY.public_key(), b"x")
    try:
        wrong = simcrypto.decrypt_random_key(other, erk)
    except DecryptError as e:
        assert e.code == 10006
    else:  # PKCS#1 v1.5 implicit rejection returns garbage instead of raising
        assert wrong != simcrypto.decrypt_random_key(KEY, erk)
