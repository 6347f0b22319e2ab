"""Elasticsearch administration: ``chatarchive es setup-security`` (run once, as an administrator)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from chatarchive.cli import CliContext, pass_cli
from core.errors import BadInput
from core.settings import Settings


@click.group("es")
def es_group() -> None:
    """Elasticsearch administration (the elasticsearch backend only)."""


@es_group.command("setup-security")
@click.option(
    "--user", default="elastic", show_default=True, help="An administrator allowed to manage roles and API keys."
)
@click.option(
    "--password-file", type=click.Path(dir_okay=False), required=True, help="File holding that user's password."
)
@click.option(
    "--key-out", default="", help="Write the new API key (encoded) to this file (mode 0400), or '-' for stdout alone."
)
@click.option("--key-name", default="", help="Name of the API key (default: <prefix>-app).")
@pass_cli
def setup_security_cmd(cli: CliContext, user: str, password_file: str, key_out: str, key_name: str) -> None:
    """Create the app's least-privilege role and an API key for it: the indexer and the
    dashboard then connect with es_api_key_file, never as a superuser."""
    # optional: the Elasticsearch client loads only for this command
    from store.elasticsearch.security import setup_security  # optional: as above
    from store.elasticsearch.store import ElasticsearchStore  # optional: as above

    settings = cli.archive.settings
    if key_out and key_out != "-" and Path(key_out).exists():
        raise BadInput(f"{key_out} exists already: remove it first (the old key stays valid until you invalidate it)")
    admin = Settings(
        data=str(settings.data_dir),
        backend="elasticsearch",
        es_url=settings.es_url,
        es_user=user,
        es_password_file=password_file,
        es_password="",
        es_api_key="",
        es_api_key_file="",
    )
    store = ElasticsearchStore.from_settings(admin)
    try:
        result = setup_security(store.t, store.prefix, key_name=key_name or f"{store.prefix}-app")
    finally:
        store.close()
    encoded = result.pop("encoded")
    if key_out == "-":
        click.echo(encoded)
        return
    if key_out:
        _write_secret(Path(key_out), encoded)
        result["key_file"] = key_out
    else:
        result["encoded"] = encoded
    cli.emit(
        result,
        lambda: (
            f"role {result['role']} and API key {result['api_key_name']} ({result['api_key_id']}) created"
            + (f"; key written to {key_out}" if key_out else f"; key: {encoded}")
        ),
    )


def _write_secret(path: Path, value: str) -> None:
    """Created with mode 0400 from the start (never readable by others, not even briefly)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    except OSError as e:
        raise BadInput(f"cannot create {path}: {e.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")


COMMANDS = [es_group]
