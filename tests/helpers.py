"""Helpers for tests that drive the real command line."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.embedded import EmbeddedStore
    from wecom.sim_server import SimServer

from click.testing import CliRunner
from hypothesis import settings

from chatarchive.cli import main
from core.models import Message

REPO = Path(__file__).resolve().parent.parent
CHATARCHIVE = [sys.executable, "-m", "chatarchive.cli"]
# One password the policy (compliance/passwords.py) accepts, for every test account.
STRONG_PASSWORD = "quiet-lantern-orbit-47"
OTHER_STRONG_PASSWORD = "velvet-harbor-sketch-92"


def cli(*args: str, data: Path | None = None, expect: int = 0, env: dict[str, str] | None = None) -> Any:
    """Runs ``chatarchive --json ARGS`` in-process; returns the parsed JSON (or output)."""
    full = ["--json", *(["--data", str(data)] if data else []), *args]
    result = CliRunner().invoke(main, full, env=env, catch_exceptions=False)
    assert result.exit_code == expect, (
        f"exit {result.exit_code}: {result.output}\n{result.stderr if hasattr(result, 'stderr') else ''}"
    )
    out = result.stdout.strip()
    if expect != 0 or not out:
        return result
    return json.loads(out)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line, strict=False) for line in f if line.strip()]


def run_cli_process(*args: str, data: Path, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
    """The CLI as a separate OS process (for kill tests)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [*CHATARCHIVE, "--json", "--data", str(data), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        **kwargs,
    )


def open_test_store(path: Path) -> EmbeddedStore:
    """A real, initialised embedded store in a tmp dir."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(path)
    store.init()
    return store


@contextlib.contextmanager
def running_wecom_sim(archive_dir: Path, **kwargs: Any) -> Iterator[SimServer]:
    """``wecom-sim serve`` for one simulated archive on 127.0.0.1 with an ephemeral port; stopped on exit."""
    from wecom.sim_server import SimServer

    server = SimServer(archive_dir, **kwargs)
    server.start_in_thread()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


DEV_MAX_EXAMPLES = 20  # the "dev" Hypothesis profile's cap (tests/conftest.py)


def examples(wanted: int) -> int:
    """A property test's number of examples under the loaded Hypothesis profile: all of them
    in "ci" (``make test``), at most ``DEV_MAX_EXAMPLES`` in "dev" (``make test-fast``)."""
    return wanted if settings.default.max_examples > DEV_MAX_EXAMPLES else min(wanted, DEV_MAX_EXAMPLES)


T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC: a fixed instant, so no test depends on the clock
CUSTOMER = "wmcustomer0000000000001"


def is_external(userid: str) -> bool:
    """WeCom external contacts' ids start with wm/wo (customers); the rest are employees."""
    return userid.startswith(("wm", "wo"))


def make_message(
    text: str = "你好",
    *,
    msgid: str = "m1",
    seq: int = 1,
    sender: str = "zhangsan",
    to: Iterable[str] = (CUSTOMER,),
    time_ms: int = T0,
    msgtype: str = "text",
    roomid: str = "",
    **fields: Any,
) -> Message:
    """The one test Message factory: a consistent message from ``sender`` to ``to``. Who is
    an employee or a customer, the chat id and kind, the participants and the raw JSON are
    derived; any other ``Message`` field (``departments=[5, 2, 1]``, ``chat_id=...``) may be
    given and wins over the derived value."""
    receivers = list(to)
    people = [sender, *receivers]
    externals = [p for p in people if is_external(p)]
    raw = json.dumps(
        {
            "msgid": msgid,
            "action": "send",
            "from": sender,
            "tolist": receivers,
            "roomid": roomid,
            "msgtime": time_ms,
            "msgtype": msgtype,
            msgtype: {"content": text},
        },
        ensure_ascii=False,
    )
    derived: dict[str, Any] = {
        "action": "send",
        "sender_kind": "external" if is_external(sender) else "employee",
        "receivers": receivers,
        "roomid": roomid,
        "chat_id": roomid or "|".join(sorted(people)),
        "chat_kind": "group" if roomid else ("external" if externals else "internal"),
        "raw": raw,
        "has_external": bool(externals),
        "employees": [p for p in dict.fromkeys(people) if not is_external(p)],
        "externals": list(dict.fromkeys(externals)),
    }
    return Message(
        msgid=msgid, seq=seq, msgtype=msgtype, time_ms=time_ms, sender=sender, text=text, **{**derived, **fields}
    )
