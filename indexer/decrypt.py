"""Decryption of pulled records: our RSA step, then the source's DecryptData.

Protocol doc §4: ``encrypt_random_key`` is base64 of RSA-2048 PKCS#1 v1.5 ciphertext made
with the admin-uploaded public key of ``publickey_ver``; we decrypt it with the matching
private key (the SDK never sees private keys) and hand the resulting text plus
``encrypt_chat_msg`` to ``DecryptData``.

Private keys live in ``DATA/keys/`` (``v{N}.pem``, mode 0600) and are listed in
``DATA/keys/keys.yaml``; a password-protected key names the environment variable that
holds its password. Key material and passwords are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.errors import BadInput, DecryptError
from indexer.source.base import EncryptedRecord, Source

log = logging.getLogger(__name__)

KEYS_FILE = "keys.yaml"
_PKCS1V15 = padding.PKCS1v15()


def load_private_key(path: Path, password: bytes | None = None) -> rsa.RSAPrivateKey:
    """An RSA private key from a PEM file (PKCS#1 or PKCS#8, optionally encrypted).
    Raises BadInput with a message that never contains key material."""
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise BadInput(f"cannot read key file {path}: {e.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except TypeError:
        if password is None:
            raise BadInput(
                f"{path} is password-protected: give the password's environment variable (--password-env)"
            ) from None
        raise BadInput(f"{path} is not password-protected, but a password was given") from None
    except ValueError:
        if password is not None:
            raise BadInput(f"cannot load {path}: wrong password, or not a PEM private key") from None
        raise BadInput(f"cannot load {path}: not a PEM private key (PKCS#1 or PKCS#8)") from None
    except Exception as e:  # cryptography raises UnsupportedAlgorithm for odd keys
        raise BadInput(f"cannot load {path}: {type(e).__name__}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BadInput(f"{path} is not an RSA private key (WeCom uses RSA-2048)")
    return key


def warn_if_loose(path: Path) -> str | None:
    """A warning text (also logged) if the key file is readable by group or others."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        text = f"key file {path} is readable by group/others (mode {mode:04o}): run chmod 600 {path}"
        log.warning(text)
        return text
    return None


def fingerprint(key: rsa.RSAPrivateKey) -> str:
    """First 16 hex digits of sha256 over the public key's DER (SubjectPublicKeyInfo)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def password_from_env(var: str) -> bytes:
    value = os.environ.get(var)
    if value is None:
        raise BadInput(f"environment variable {var} (the key's password) is not set")
    return value.encode("utf-8")


class KeyRing:
    """publickey_ver → RSA private key. Versions whose key failed to load remember why."""

    def __init__(self, keys: dict[int, rsa.RSAPrivateKey] | None = None) -> None:
        self._keys: dict[int, rsa.RSAPrivateKey] = dict(keys or {})
        self.problems: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"KeyRing(versions={self.versions()})"

    def add(self, version: int, key: rsa.RSAPrivateKey) -> None:
        self._keys[int(version)] = key
        self.problems.pop(int(version), None)

    def get(self, version: int) -> rsa.RSAPrivateKey | None:
        return self._keys.get(version)

    def versions(self) -> list[int]:
        return sorted(self._keys)

    def __contains__(self, version: object) -> bool:
        return version in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def load(cls, keys_dir: str | Path) -> KeyRing:
        """Keys listed in ``keys_dir/keys.yaml``; without that file, every ``v{N}.pem`` in the
        directory (the simulator's layout). A key that cannot be loaded is logged and recorded
        in ``problems`` (its records then fail with that reason) instead of stopping the rest."""
        keys_dir = Path(keys_dir)
        ring = cls()
        if not keys_dir.is_dir():
            return ring
        entries = read_keys_yaml(keys_dir) or _scan_pem_files(keys_dir)
        for version, entry in entries.items():
            path = keys_dir / entry["file"]
            try:
                warn_if_loose(path)
                password = password_from_env(entry["password_env"]) if entry.get("password_env") else None
                ring.add(version, load_private_key(path, password))
            except (BadInput, OSError) as e:
                ring.problems[version] = str(e)
                log.error("private key of publickey_ver %d not loaded: %s", version, e)
        return ring


def read_keys_yaml(keys_dir: Path) -> dict[int, dict[str, Any]]:
    """``{version: {"file": ..., "password_env": ..., "fingerprint": ...}}`` from keys.yaml."""
    path = keys_dir / KEYS_FILE
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {int(v): dict(entry) for v, entry in (doc.get("keys") or {}).items()}
    except (yaml.YAMLError, AttributeError, TypeError, ValueError) as e:
        raise BadInput(f"{path} is not a valid key list: {e}") from None


def write_keys_yaml(keys_dir: Path, entries: dict[int, dict[str, Any]]) -> None:
    path = keys_dir / KEYS_FILE
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(
        yaml.safe_dump({"keys": {v: entries[v] for v in sorted(entries)}}, sort_keys=False), encoding="utf-8"
    )
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _scan_pem_files(keys_dir: Path) -> dict[int, dict[str, Any]]:
    found = {}
    for path in sorted(keys_dir.glob("v*.pem")):
        m = re.fullmatch(r"v(\d+)\.pem", path.name)
        if m:
            found[int(m.group(1))] = {"file": path.name}
    return found


def decrypt_random_key(keyring: KeyRing, record: EncryptedRecord) -> str:
    """The RSA-decrypted ``encrypt_random_key`` (the text DecryptData takes)."""
    version = record.publickey_ver
    key = keyring.get(version)
    if key is None:
        problem = keyring.problems.get(version)
        if problem:
            raise DecryptError(f"the private key for publickey_ver {version} could not be loaded: {problem}", 10007)
        raise DecryptError(f"no private key for publickey_ver {version}: add it with chatarchive keys add", 10007)
    try:
        ciphertext = base64.b64decode(record.encrypt_random_key, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError("encrypt_random_key is not valid base64", 10008) from None
    try:
        plain = key.decrypt(ciphertext, _PKCS1V15)
    except ValueError:
        raise DecryptError(
            f"RSA decryption of encrypt_random_key failed with the private key of publickey_ver {version} "
            "(wrong key for this version, or a damaged record)",
            10006,
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError(
            f"the RSA-decrypted random key is not text: the private key registered for publickey_ver {version} "
            "is probably not the one WeCom used",
            10008,
        ) from None


def decrypt_record(
    keyring: KeyRing, decrypt_data: Callable[[str, str], bytes], record: EncryptedRecord
) -> bytes | DecryptError:
    """One record's plaintext: our RSA step, then the source's DecryptData (in this process,
    or a worker's copy of it); the DecryptError saying why not, never raised."""
    try:
        return decrypt_data(decrypt_random_key(keyring, record), record.encrypt_chat_msg)
    except DecryptError as e:
        return e


class Decryptor:
    """Decrypts batches of records: RSA on a thread pool (cryptography and the SDK's
    DecryptData both release the GIL), results in record order."""

    def __init__(self, keyring: KeyRing, source: Source, workers: int = 0) -> None:
        self.keyring = keyring
        self.source = source
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self._pool = (
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="decrypt") if self.workers > 1 else None
        )

    def decrypt_one(self, record: EncryptedRecord) -> bytes | DecryptError:
        return decrypt_record(self.keyring, self.source.decrypt_data, record)

    def decrypt_batch(self, records: Sequence[EncryptedRecord]) -> list[bytes | DecryptError]:
        """Plaintext bytes or the DecryptError explaining why not, one per record, in order."""
        if self._pool is None or len(records) < 2:
            return [self.decrypt_one(r) for r in records]
        return list(self._pool.map(self.decrypt_one, records))

    def submit(self, records: Sequence[EncryptedRecord]) -> list[Future[bytes | DecryptError]]:
        """Starts decrypting ``records`` in the background (the pipeline decrypts the next batch
        while it stores this one); ``[f.result() for f in futures]`` is ``decrypt_batch``'s result."""
        if self._pool is None:
            done: list[Future[bytes | DecryptError]] = []
            for record in records:
                future: Future[bytes | DecryptError] = Future()
                future.set_result(self.decrypt_one(record))
                done.append(future)
            return done
        return [self._pool.submit(self.decrypt_one, r) for r in records]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> Decryptor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
