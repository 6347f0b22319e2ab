"""Record integrity costs: the evidence ledger's seals and amendments, and verifying them.

Builds an embedded store of N messages over D days, then times: the first seal of every
day from the store (what the sweep does for an archive without a ledger); ``record_batch``
for one more batch on the last day (the pipeline's per-batch cost: an amendment); the
sweep after a pull with nothing unrecorded (two date histograms); the sweep after a crash
left a batch unrecorded (the day re-read and amended); ``verify_messages`` over the
archive; and, as the peer measured in the same run, a bare hashlib sha256 over every raw
JSON (the floor any verification must pay).

    .venv/bin/python bench/bench_integrity.py --messages 20000 --days 30 --batch 1000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance import integrity  # noqa: E402
from core.models import ALL, Batch, Message, MessageFilter  # noqa: E402
from store.embedded import EmbeddedStore  # noqa: E402

T0 = 1_763_600_000_000
DAY = 86_400_000


def make(i: int, day: int, per_day: int) -> Message:
    raw = json.dumps(
        {
            "msgid": f"m{i}",
            "action": "send",
            "from": "zhangwei",
            "tolist": ["lina"],
            "msgtype": "text",
            "msgtime": T0 + day * DAY,
            "text": {"content": f"第{i}条消息，报价单已发您邮箱。"},
        },
        ensure_ascii=False,
    )
    return Message(
        msgid=f"m{i}",
        seq=i + 1,
        action="send",
        msgtype="text",
        time_ms=T0 + day * DAY + (i % per_day) * 1000,
        sender="zhangwei",
        sender_kind="employee",
        receivers=["lina"],
        roomid="",
        chat_id="lina|zhangwei",
        chat_kind="internal",
        text=f"第{i}条消息",
        raw=raw,
        employees=["lina", "zhangwei"],
        departments=[1],
    )


def timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    per_day = max(1, args.messages // args.days)
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp))
        store.init()
        messages = [make(i, i // per_day, per_day) for i in range(args.messages)]
        for k in range(0, len(messages), 2000):
            store.write_batch(Batch(messages=messages[k : k + 2000], checkpoint=k + 2000))
        store.refresh()
        days = sorted(integrity.days_of(messages))
        rows = []
        ms, _ = timed(lambda: integrity.update_digests(store, days))
        rows.append(("first seal of every day", ms))
        full_ms = ms
        last = days[-1]
        extra = Batch(
            messages=[make(args.messages + j, len(days) - 1, per_day) for j in range(args.batch)],
            checkpoint=args.messages + args.batch,
        )
        store.write_batch(extra)
        store.refresh()
        ms, _ = timed(lambda: integrity.record_batch(store, extra))
        rows.append((f"record_batch: the writer's ledger entry for a {args.batch}-message batch", ms))
        incremental_ms = ms
        ms, res = timed(lambda: integrity.update_digests(store))
        assert res.sealed == [], res.sealed  # type: ignore[attr-defined]
        rows.append(("sweep after a pull, nothing unrecorded", ms))
        lost = [make(args.messages + args.batch + j, len(days) - 1, per_day) for j in range(args.batch)]
        store.write_batch(Batch(messages=lost, checkpoint=args.messages + 2 * args.batch))
        store.refresh()
        ms, res = timed(lambda: integrity.update_digests(store))
        assert res.sealed == [last], res.sealed  # type: ignore[attr-defined]
        rows.append((f"sweep after a crash left {args.batch} messages unrecorded (amends the day)", ms))
        ms, res = timed(lambda: integrity.verify_messages(store))
        assert res.ok, res.problems  # type: ignore[attr-defined]
        rows.append(("verify_messages (every message and day)", ms))
        verify_ms = ms
        raws = [m.raw for m in store.iter_messages(MessageFilter(), scope=ALL)]
        ms, _ = timed(lambda: [hashlib.sha256(r.encode()).hexdigest() for r in raws])
        rows.append(("peer: bare sha256 of every raw (in memory)", ms))
        store.close()
    total = args.messages + 2 * args.batch
    print(f"{total} messages over {len(days)} days, embedded store")
    print("| operation | ms | ratio |")
    print("| --- | ---: | ---: |")
    for name, ms in rows:
        print(f"| {name} | {ms:,.0f} | {ms / full_ms:.3f} × first seal |")
    print(
        f"\nincremental / first seal = {incremental_ms / full_ms:.3f}; "
        f"verify = {total / (verify_ms / 1000):,.0f} msgs/s"
    )


if __name__ == "__main__":
    main()
