"""WeCom's callback crypto (protocol §8.6, the standard scheme of every WeCom callback).

signature = SHA1 of the sorted concatenation of token, timestamp, nonce and the encrypted text;
AES-256-CBC with key = base64decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32 bytes;
plaintext = 16 random bytes + 4-byte big-endian length + message + receiver id (the corp id).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.errors import BadInput

BLOCK = 32


class CallbackCryptoError(BadInput):
    """A callback that is not authentic or cannot be decrypted (never processed)."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key from the 43-character EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise CallbackCryptoError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise CallbackCryptoError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise CallbackCryptoError("EncodingAESKey does not decode to 32 bytes")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def encrypt(message: bytes, encoding_aes_key: str, receiver_id: str, *, random16: bytes | None = None) -> str:
    key = aes_key(encoding_aes_key)
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + receiver_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encrypted: str, encoding_aes_key: str, receiver_id: str) -> bytes:
    """The message inside ``encrypted``; refuses bad padding and a foreign receiver id."""
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise CallbackCryptoError("the encrypted text is not base64") from None
    if not data or len(data) % 16:
        raise CallbackCryptoError("the encrypted text is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise CallbackCryptoError("bad padding: wrong EncodingAESKey?")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CallbackCryptoError("the decrypted text is too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, receiver = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length:
        raise CallbackCryptoError("the decrypted length does not match")
    if receiver.decode(errors="replace") != receiver_id:
        raise CallbackCryptoError("the callback is for another receiver id")
    return message


def envelope(
    xml_message: str, *, token: str, encoding_aes_key: str, receiver_id: str, timestamp: str, nonce: str
) -> tuple[str, str]:
    """(POST body, msg_signature) of one callback as WeCom sends it."""
    encrypted = encrypt(xml_message.encode(), encoding_aes_key, receiver_id)
    body = (
        f"<xml><ToUserName><![CDATA[{receiver_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "<AgentID><![CDATA[]]></AgentID></xml>"
    )
    return body, signature(token, timestamp, nonce, encrypted)
