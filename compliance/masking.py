"""Masking personal data (retention "mask instead of delete", consent policy "mask").

Replaces, in a message's text and in every string of its raw JSON: known names (the
participants' and the organisation's), mainland mobile numbers, ID card numbers and
bank card numbers. Ids (userid, external ids) stay, so the conversation structure and
the audit value remain; ``raw_sha256`` keeps the hash of the original evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from core.directory import Directory
from core.models import Message
from store.highlight import mark_ranges

MASK = "＊"

# Digits not preceded/followed by digits, so parts of longer numbers are not half-masked.
_ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])")
_BANK_CARD = re.compile(r"(?<!\d)\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")


def _stars(match: re.Match[str]) -> str:
    return MASK * len(match.group(0))


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """The text with ID cards, bank cards, mobile numbers and the given names masked."""
    if not text:
        return text
    out = _ID_CARD.sub(_stars, text)
    out = _BANK_CARD.sub(_stars, out)
    out = _MOBILE.sub(_stars, out)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        out = out.replace(name, MASK * len(name))
    return out


def _mask_json(value: Any, names: list[str], keep_keys: frozenset[str]) -> Any:
    if isinstance(value, str):
        return mask_text(value, names)
    if isinstance(value, list):
        return [_mask_json(v, names, keep_keys) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in keep_keys else _mask_json(v, names, keep_keys)) for k, v in value.items()}
    return value


# Structural fields of WeCom's JSON that are ids, not personal data.
_KEEP = frozenset(
    {
        "msgid",
        "action",
        "from",
        "tolist",
        "roomid",
        "msgtype",
        "sdkfileid",
        "md5sum",
        "userid",
        "pre_msgid",
        "voiceid",
        "voipid",
        "msgtime",
    }
)


def mask_outside_spans(text: str, spans: Iterable[Iterable[int]]) -> str:
    """The text with every character outside the ``[start, end)`` spans masked (whitespace kept,
    so the length and the spans' offsets stay the same): a rule's hit readable, nothing else."""
    keep = [False] * len(text)
    for start, end in spans:
        for i in range(max(0, int(start)), min(len(text), int(end))):
            keep[i] = True
    return "".join(c if keep[i] or c.isspace() else MASK for i, c in enumerate(text))


def masked_hits(text: str, spans: Iterable[Iterable[int]]) -> str:
    """HTML of a masked sample: ``mask_outside_spans`` with <mark> around the hits."""
    ranges = [tuple(s) for s in spans]
    return mark_ranges(mask_outside_spans(text, ranges), ranges)


def mask_raw(raw: str, names: Iterable[str] = ()) -> str:
    """The raw JSON with every string masked (ids kept); unparsable raw is masked as text."""
    names_list = list(names)
    try:
        parsed = json.loads(raw, strict=False)
    except (TypeError, ValueError):
        return mask_text(raw, names_list)
    # Nested JSON strings (mixed/chatrecord content) are masked as text, which also
    # covers the personal data inside them.
    return json.dumps(_mask_json(parsed, names_list, _KEEP), ensure_ascii=False, separators=(",", ":"))


def mask_message(message: Message, names: Iterable[str] = ()) -> Message:
    """A masked copy. ``raw_sha256`` still names the original evidence; ``masked`` is set."""
    names_list = list(names)
    text = mask_text(message.text, names_list)
    words = [w for w in message.words if w in text]
    return replace(
        message,
        text=text,
        raw=mask_raw(message.raw, names_list),
        words=words,
        masked=True,
        media=list(message.media),
        receivers=list(message.receivers),
    )


def organisation_names(directory: Directory | None) -> list[str]:
    """Every employee's and external contact's display name the organisation knows
    (compute once per purge, not per message)."""
    if directory is None:
        return []
    names = {p.get("name") or "" for p in list(directory.employees) + list(directory.externals)}
    return sorted(n for n in names if len(n) >= 2)
