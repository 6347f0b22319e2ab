"""``audit verify`` as one operation: the audit trail, the evidence ledger against the store
(messages, violations, dead letters, rule versions), review statuses against their audited
events and, if given, a signed anchor. Reads only: it runs on a read-only evidence copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compliance import anchor as anchors
from compliance import audit, integrity, reviews_check
from store.base import Store


@dataclass
class ArchiveReport:
    trail: audit.VerifyResult
    records: integrity.MessagesVerifyResult
    reviews: list[str] = field(default_factory=list)
    anchor: list[str] | None = None  # None: no anchor was given

    @property
    def ok(self) -> bool:
        return self.trail.ok and self.records.ok and not self.reviews and not self.anchor

    @property
    def problems(self) -> list[str]:
        trail = [] if self.trail.ok else [self.trail.problem]
        return [*(self.anchor or []), *trail, *self.records.problems, *self.reviews]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ok": self.ok,
            "audit": self.trail.to_dict(),
            "messages": self.records.to_dict(),
            "reviews": reviews_check.summary(self.reviews),
        }
        if self.anchor is not None:
            out["anchor"] = {"ok": not self.anchor, "problems": self.anchor}
        return out


def verify_archive(
    store: Store,
    *,
    tz: str | None = None,
    anchor: dict[str, Any] | None = None,
    keys: list[anchors.AnchorKey] | None = None,
) -> ArchiveReport:
    report = ArchiveReport(
        trail=audit.verify(store),
        records=integrity.verify_messages(store, tz=tz),
        reviews=reviews_check.verify_reviews(store),
    )
    if anchor is not None:
        report.anchor = anchors.verify_anchor(store, anchor, keys or [])
    return report


def human_report(report: ArchiveReport) -> str:
    trail, records = report.trail, report.records
    lines = []
    if report.anchor is not None:
        lines.append(
            "anchor: " + ("extended (the archive still holds the anchored heads)" if not report.anchor else "FAILED")
        )
        lines += [f"  {p}" for p in report.anchor]
    lines.append(
        f"audit trail: {'intact' if trail.ok else 'TAMPERED'} ({trail.checked} entries, "
        f"head seq {trail.head_seq} hash {trail.head_hash})"
    )
    if not trail.ok:
        lines.append(f"  first bad: {trail.problem}")
    lines.append(
        f"records: {'intact' if records.ok else 'TAMPERED'} ({records.messages} messages, "
        f"{records.days} days; ledger head seq {records.ledger_seq})"
    )
    lines += [f"  {p}" for p in records.problems[:20]]
    lines += [f"  warning: {w}" for w in records.warnings[:20]]
    lines.append(f"review decisions: {'intact' if not report.reviews else 'TAMPERED'}")
    lines += [f"  {p}" for p in report.reviews[:20]]
    return "\n".join(lines)
