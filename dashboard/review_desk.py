"""The review desk's logic: the violations table's rows (recipients, a content excerpt with
the hit marked), exception suggestions that make sense, and their backtest preview.

An exception (allow-list phrase) silences a keyword only where the keyword lies inside
the phrase, so a useful suggestion always contains the matched text and is longer than
it: the message's jieba word around the hit (保本 in 保本型存款 → 保本型存款), then the
hit with its neighbours inside the clause. Saving one is previewed first as the
difference the new rule version makes on a bounded recent window of history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.rules.model import Rule
from core.models import Message, Scope, Violation
from dashboard import i18n
from reports.backtest import diff_versions
from store.base import Store

EXCERPT_CHARS = 24  # each side of the hit
CLAUSE_CONTEXT = 3  # characters kept each side of the hit inside its clause
PREVIEW_DAYS = 90
PREVIEW_LIMIT = 20
SEVERITY_LABELS = {k: i18n.severity(k) for k in ("critical", "high", "medium", "low")}
_CLAUSE_BREAK = re.compile(r"[\s，。！？；：、,.!?;:\"'“”‘’（）()【】\[\]<>《》]")


@dataclass(frozen=True)
class Preview:
    phrase: str
    time_from: int
    time_to: int
    silenced: int  # hits in the window the exception would remove
    gained: int  # must be 0: an allow phrase never adds hits
    examples: list[dict[str, object]]  # {"msgid", "time", "text" (escaped, <mark>ed), "terms"}


def first_span(v: Violation, text: str) -> tuple[int, int] | None:
    for span in v.spans:
        start, end = int(span[0]), int(span[1])
        if 0 <= start < end <= len(text):
            return start, end
    return None


def excerpt(text: str, v: Violation, width: int = EXCERPT_CHARS) -> str:
    """Plain text around the first hit, the hit in 【】 (for tables, which cannot hold markup)."""
    span = first_span(v, text)
    if span is None:
        return text[: 2 * width] + ("…" if len(text) > 2 * width else "")
    start, end = span
    left, right = max(0, start - width), min(len(text), end + width)
    return (
        ("…" if left else "")
        + text[left:start]
        + "【"
        + text[start:end]
        + "】"
        + text[end:right]
        + ("…" if right < len(text) else "")
    )


def _word_around(message: Message, start: int, end: int) -> str:
    """The longest jieba word of the message that covers the hit and is longer than it."""
    hit = message.text[start:end]
    best = ""
    for word in set(message.words):
        if len(word) > len(hit) and hit.lower() in word.lower() and len(word) > len(best):
            pos = message.text.lower().find(word.lower())
            if pos != -1 and pos <= start and end <= pos + len(word):
                best = message.text[pos : pos + len(word)]
    return best


def _clause_around(text: str, start: int, end: int, context: int = CLAUSE_CONTEXT) -> str:
    """The hit with up to ``context`` characters each side, never crossing punctuation."""
    left = start
    while left > 0 and start - left < context and not _CLAUSE_BREAK.match(text[left - 1]):
        left -= 1
    right = end
    while right < len(text) and right - end < context and not _CLAUSE_BREAK.match(text[right]):
        right += 1
    return text[left:right]


def suggest_exceptions(message: Message, v: Violation) -> list[str]:
    """Allow-list phrases that would silence this hit and little else; [] when none makes sense
    (the hit is a whole clause on its own: then the rule, not an exception, needs changing)."""
    span = first_span(v, message.text)
    if span is None:
        return []
    hit = message.text[span[0] : span[1]]
    out: list[str] = []
    for candidate in (_word_around(message, *span), _clause_around(message.text, *span)):
        if candidate and len(candidate) > len(hit) and candidate not in out:
            out.append(candidate)
    return out


def preview_exception(
    store: Store, rule: Rule, phrase: str, scope: Scope, now_ms: int, days: int = PREVIEW_DAYS
) -> Preview:
    """The backtest diff of adding ``phrase`` to ``rule``'s allow list, over the last ``days``."""
    with_exception = Rule.from_dict({**rule.to_dict(), "allow": [*rule.allow, phrase.strip()]})
    time_from = now_ms - days * 86_400_000
    diff = diff_versions(
        store, rule, with_exception, scope, time_from=time_from, time_to=now_ms + 1, limit=PREVIEW_LIMIT
    )
    return Preview(
        phrase.strip(), time_from, now_ms, int(diff["lost_total"]), int(diff["gained_total"]), list(diff["lost"])
    )
