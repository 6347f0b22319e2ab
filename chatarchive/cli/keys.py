"""``chatarchive keys add`` / ``keys list``: the private keys of each ``publickey_ver``.

A key is copied into ``DATA/keys/v{V}.pem`` (mode 0600, exactly as given: a
password-protected PEM stays encrypted, its password stays in the named environment
variable) and recorded in ``DATA/keys/keys.yaml``. Output never contains key material:
only versions and fingerprints (sha256 of the public key, first 16 hex digits).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import click

from chatarchive.cli import CliContext, pass_cli
from core.errors import BadInput
from core.settings import Settings
from indexer.decrypt import (
    fingerprint,
    load_private_key,
    password_from_env,
    read_keys_yaml,
    write_keys_yaml,
)
from store.filemodes import make_private_dir, readable_by_others

REQUIRED_KEY_SIZE = 2048  # WeCom's console takes RSA-2048 public keys


def keys_dir(cli: CliContext) -> Path:
    return Settings(**cli.overrides).data_dir / "keys"


@click.group("keys")
def keys() -> None:
    """Private keys that open each publickey_ver's messages."""


@keys.command("add")
@click.option(
    "--version", "version", type=click.IntRange(min=0), required=True, help="The publickey_ver this key belongs to."
)
@click.option(
    "--pem",
    "pem",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PEM private key (PKCS#1 or PKCS#8).",
)
@click.option("--password-env", default="", help="Environment variable holding the PEM's password, if it has one.")
@pass_cli
def add(cli: CliContext, version: int, pem: Path, password_env: str) -> None:
    """Registers the private key for publickey_ver VERSION."""
    if not pem.is_file():
        raise BadInput(f"--pem {pem}: no such file")
    password = password_from_env(password_env) if password_env else None
    key = load_private_key(pem, password)
    if key.key_size != REQUIRED_KEY_SIZE:
        raise BadInput(f"{pem} is an RSA-{key.key_size} key; WeCom uses RSA-{REQUIRED_KEY_SIZE}")
    fp = fingerprint(key)

    directory = keys_dir(cli)
    entries = read_keys_yaml(directory) if directory.is_dir() else {}
    existing = entries.get(version)
    if existing and existing.get("fingerprint") != fp:
        raise BadInput(
            f"publickey_ver {version} already has a different key (fingerprint {existing.get('fingerprint')}); "
            "keys are never replaced silently: old messages need the old key"
        )
    make_private_dir(directory.parent)
    make_private_dir(directory)
    target = directory / f"v{version}.pem"
    data = pem.read_bytes()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with a looser mode
        os.write(fd, data)
    finally:
        os.close(fd)
    entries[version] = {
        "file": target.name,
        "password_env": password_env,
        "fingerprint": fp,
        "added": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_keys_yaml(directory, entries)
    for warning in _source_pem_warnings(pem):  # stderr: the contract's JSON stays {"version": V}
        cli.info(f"warning: {warning}")
    cli.emit({"version": version}, f"private key for publickey_ver {version} registered (fingerprint {fp})")


def _source_pem_warnings(pem: Path) -> list[str]:
    """The registered copy is private; the file it came from may not be."""
    if not readable_by_others(pem):
        return []
    mode = f"{stat.S_IMODE(pem.stat().st_mode):04o}"
    return [f"the source PEM {pem} is readable by other users (mode {mode}); delete it or run chmod 600 {pem}"]


@keys.command("list")
@pass_cli
def list_keys(cli: CliContext) -> None:
    """Lists registered versions with fingerprints and file-mode warnings (never the keys)."""
    directory = keys_dir(cli)
    entries = read_keys_yaml(directory) if directory.is_dir() else {}
    items = []
    for version, entry in sorted(entries.items()):
        path = directory / str(entry.get("file", f"v{version}.pem"))
        warnings: list[str] = []
        mode = ""
        fp = str(entry.get("fingerprint", ""))
        if not path.exists():
            warnings.append(f"key file {path} is missing")
        else:
            m = stat.S_IMODE(path.stat().st_mode)
            mode = f"{m:04o}"
            if m & 0o077:
                warnings.append(f"key file {path} is readable by group/others (mode {mode}): run chmod 600 {path}")
            try:
                pw_env = entry.get("password_env") or ""
                fp = fingerprint(load_private_key(path, password_from_env(pw_env) if pw_env else None))
                if entry.get("fingerprint") and entry["fingerprint"] != fp:
                    warnings.append("key file changed since it was added (fingerprint differs)")
            except BadInput as e:
                warnings.append(f"cannot load: {e}")
        items.append(
            {
                "version": version,
                "file": str(path),
                "fingerprint": fp,
                "password_env": entry.get("password_env") or "",
                "mode": mode,
                "warnings": warnings,
            }
        )

    def human() -> str:
        if not items:
            return "no private keys registered (chatarchive keys add --version V --pem FILE)"
        lines = [f"v{i['version']}  {i['fingerprint']}  {i['mode']}  {i['file']}" for i in items]
        lines += [f"  warning (v{i['version']}): {w}" for i in items for w in i["warnings"]]
        return "\n".join(lines)

    cli.emit({"keys": items}, human)


COMMANDS = [keys]
