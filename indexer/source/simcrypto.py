"""The simulator's stand-in for WeCom's message cipher (protocol doc §4.3).

The vendor's ``DecryptData`` is a black box, so the simulated archive uses a documented
scheme of its own, with the real outer layer:

* a fresh random key per message: 32 characters of ``[A-Za-z0-9]``;
* ``encrypt_random_key`` = base64(RSA-2048 PKCS#1 v1.5(public key of the current
  ``publickey_ver``, the random key as ASCII)) — 344 characters, exactly as WeCom sends it;
* ``encrypt_chat_msg`` = base64(AES-256-CBC(key = the 32 key bytes, iv = the first 16 key
  bytes, PKCS#7)(plaintext UTF-8)).

``decrypt_data`` is the simulator's ``DecryptData``; the C stub of the vendor SDK
implements the same inversion with OpenSSL, so both sources decrypt identically.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.errors import DecryptError

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 32
_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")


def new_random_key() -> str:
    """A fresh per-message key (cryptographically random, like the server's)."""
    chars: list[str] = []
    while len(chars) < KEY_LENGTH:
        # Rejection sampling keeps the 62 characters uniform (248 = 4 * 62).
        chars.extend(KEY_ALPHABET[b % 62] for b in secrets.token_bytes(48) if b < 248)
    return "".join(chars[:KEY_LENGTH])


def _aes(key: str) -> Cipher:
    raw = key.encode("ascii")
    return Cipher(algorithms.AES(raw), modes.CBC(raw[:16]))


def encrypt_body(random_key: str, plaintext: bytes) -> str:
    """base64(AES-256-CBC(PKCS#7)) of ``plaintext`` under ``random_key``."""
    pad = 16 - len(plaintext) % 16  # PKCS#7, inlined: the padder object costs more than the AES
    padded = plaintext + bytes([pad]) * pad
    encryptor = _aes(random_key).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def encrypt_message(public_key: RSAPublicKey, plaintext: bytes | str) -> tuple[str, str]:
    """``(encrypt_random_key, encrypt_chat_msg)`` for one message, as the server makes them."""
    if isinstance(plaintext, str):
        plaintext = plaintext.encode("utf-8")
    random_key = new_random_key()
    wrapped = public_key.encrypt(random_key.encode("ascii"), rsa_padding.PKCS1v15())
    return base64.b64encode(wrapped).decode("ascii"), encrypt_body(random_key, plaintext)


def decrypt_random_key(private_key: RSAPrivateKey, encrypt_random_key: str) -> str:
    """The client side's RSA step (what ``indexer.decrypt`` does in production).
    Raises ``DecryptError(10006)`` if this key does not open it."""
    try:
        wrapped = base64.b64decode(encrypt_random_key, validate=True)
        return private_key.decrypt(wrapped, rsa_padding.PKCS1v15()).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise DecryptError(f"RSA decryption of encrypt_random_key failed: {e}", code=10006) from e


def decrypt_data(encrypt_key: str, encrypt_msg: str) -> bytes:
    """The simulator's ``DecryptData``: the plaintext message JSON bytes.

    10008: ``encrypt_key`` is not 32 characters of ``[A-Za-z0-9]`` or ``encrypt_msg`` is not
    valid base64. 10006: the ciphertext length, the padding or the UTF-8 is wrong.
    """
    if not isinstance(encrypt_key, str) or not _KEY_RE.fullmatch(encrypt_key):
        raise DecryptError("error parsing encrypt_key: not 32 characters of [A-Za-z0-9]", code=10008)
    try:
        ciphertext = base64.b64decode(encrypt_msg, validate=True)
    except (binascii.Error, ValueError, TypeError) as e:
        raise DecryptError(f"error parsing encrypt_msg: invalid base64 ({e})", code=10008) from e
    if not ciphertext or len(ciphertext) % 16:
        raise DecryptError(f"decrypt failed: ciphertext length {len(ciphertext)} is not a multiple of 16", code=10006)
    decryptor = _aes(encrypt_key).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        unpadder = sym_padding.PKCS7(128).unpadder()
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError as e:
        raise DecryptError("decrypt failed: bad padding (wrong key?)", code=10006) from e
    try:
        plaintext.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecryptError("decrypt failed: plaintext is not UTF-8", code=10006) from e
    return plaintext
