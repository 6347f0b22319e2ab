"""The README's `chatarchive` examples run as written (against a small simulated archive)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from chatarchive.cli import main
from tests.helpers import REPO

# Examples that cannot run inside a test, and why: they are parsed (every option checked) instead.
PARSE_ONLY = {
    ("keys", "add"): "needs the enterprise's private key file",
    ("accounts", "add"): "prompts for the password on a terminal",
    ("run",): "the long-running scheduler",
    ("serve",): "the long-running dashboard server",
    ("es", "setup-security"): "needs an Elasticsearch cluster",
    ("directory", "sync"): "calls WeCom's servers (tests/test_wecom_directory.py syncs from wecom-sim)",
    ("directory", "import"): "needs the company's directory export (tests/test_wecom_directory.py imports one)",
    ("callbacks", "serve"): "the long-running callback receiver",
    ("wecom-sim", "serve"): "the long-running simulator of WeCom's server APIs",
}
FAST = {"--messages": "300"}  # the README simulates 20,000 messages; the same command, smaller


def readme_examples() -> list[list[str]]:
    """Every line of a README code block that starts with `chatarchive`, as argv (comments dropped)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    return [
        shlex.split(line, comments=True)[1:]
        for block in blocks
        for line in block.splitlines()
        if line.startswith("chatarchive ")
    ]


def parse(args: list[str]) -> None:
    """Parses a command line down to its leaf command, as click would before running it."""
    ctx = main.make_context("chatarchive", list(args))
    command: click.Command = main
    while isinstance(command, click.Group):
        # A group keeps the subcommand's name apart from its arguments (click's protected args).
        name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert command is not None and name is not None
        ctx = command.make_context(name, rest, parent=ctx)


def parse_only_reason(args: list[str]) -> str | None:
    words = [a for a in args if not a.startswith("-")]
    return PARSE_ONLY.get(tuple(words[:2])) or PARSE_ONLY.get(tuple(words[:1]))


def test_the_readme_has_the_examples_this_test_relies_on() -> None:
    """GIVEN the README
    WHEN its examples are extracted
    THEN there are some, including the search with --json after the query (the issue's failing example)"""
    examples = readme_examples()
    assert len(examples) >= 10
    assert any(a[0] == "search" and a[-1] == "--json" for a in examples)


@pytest.mark.slow
def test_every_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN an empty working directory (the examples use ./demo-archive and the default ./data)
    WHEN each README example runs in order (MSGID and RULE replaced by a stored message's and rule's id)
    THEN each exits 0; the ones that cannot run in a test at least parse with every option"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHATARCHIVE_DATA", raising=False)
    # The anchor examples need a key kept outside the data directory, and write-once storage (/worm/ here a folder).
    monkeypatch.setenv("CHATARCHIVE_ANCHOR_KEY", "readme-example-anchor-key-" + "k" * 40)
    (tmp_path / "worm").mkdir()
    msgid, rule = "", ""
    for args in readme_examples():
        if parse_only_reason(args):
            parse(args)
            continue
        args = [FAST.get(prev, a) for prev, a in zip(["", *args], args)]
        args = [{"MSGID": msgid, "RULE": rule}.get(a, a).replace("/worm/", f"{tmp_path}/worm/") for a in args]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, f"chatarchive {shlex.join(args)}: {result.output}"
        if args[0] == "pull":
            msgid = _any_msgid()
        if args[:2] == ["rules", "add"]:
            rule = _any_rule()
    assert msgid and rule


def _any_rule() -> str:
    result = CliRunner().invoke(main, ["--json", "rules", "list"])
    rules = json.loads(result.stdout)
    rules = rules.get("rules", rules) if isinstance(rules, dict) else rules
    return str(rules[0]["id"]) if rules else ""


def _any_msgid() -> str:
    result = CliRunner().invoke(main, ["--json", "search", "的", "--limit", "1"])
    hits = json.loads(result.stdout)["hits"]
    return hits[0]["msgid"] if hits else ""
