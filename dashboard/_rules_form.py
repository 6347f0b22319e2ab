"""The rule editor's form ↔ rule data, and the live test on typed text.

The form edits every field of the rule model (``analyzers.rules.model``); validation is
the model's own (``Rule.from_dict``), so the editor can never save what a rule file
could not hold.
"""

from __future__ import annotations

from typing import Any

from analyzers.chinese import get_analyzer
from analyzers.rules import Rule, RuleEngine
from core import clock
from core.directory import Directory
from core.errors import RuleError
from core.models import Message, Violation


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def keywords_to_text(keywords: list[Any]) -> str:
    """One keyword a line; ``term | word`` and ``term | pinyin`` for per-keyword options."""
    out = []
    for k in keywords:
        if isinstance(k, str):
            out.append(k)
        else:
            opts = [
                o
                for o in (
                    k.get("match") if k.get("match") not in (None, "substring") else None,
                    "pinyin" if k.get("pinyin") else None,
                )
                if o
            ]
            out.append(" | ".join([k["term"], *opts]))
    return "\n".join(out)


def keyword_items(text: str) -> list[str]:
    """Keywords as the seed's form takes them: separated by commas (, or ，) and/or one a line."""
    return [item.strip() for line in lines(text) for item in line.replace("，", ",").split(",") if item.strip()]


def keywords_from_text(text: str) -> list[Any]:
    out: list[Any] = []
    for line in keyword_items(text):
        term, *opts = [p.strip() for p in line.split("|")]
        if not opts:
            out.append(term)
            continue
        item: dict[str, Any] = {"term": term}
        for o in opts:
            if o in ("word", "substring"):
                item["match"] = o
            elif o == "pinyin":
                item["pinyin"] = True
            elif o:
                raise RuleError(f"unknown keyword option {o!r} (use word, substring or pinyin)", "keywords")
        out.append(item)
    return out


def near_to_text(near: list[dict[str, Any]]) -> str:
    return "\n".join(f"{', '.join(n['terms'])} @ {n['within']}" for n in near)


def near_from_text(text: str) -> list[dict[str, Any]]:
    out = []
    for line in lines(text):
        terms, _, within = line.partition("@")
        try:
            distance = int(within.strip() or 20)
        except ValueError:
            raise RuleError(f"distance after @ must be a number, got {within.strip()!r}", "near") from None
        out.append({"terms": [t.strip() for t in terms.replace("，", ",").split(",") if t.strip()], "within": distance})
    return out


def require_from_text(text: str) -> str | int:
    text = (text or "any").strip()
    return int(text) if text.isdigit() else text


def live_test(
    rule_data: dict[str, Any],
    text: str,
    *,
    msgtype: str = "text",
    sender_kind: str = "employee",
    chat_kind: str = "external",
    sender: str = "tester",
    directory: Directory | None = None,
) -> tuple[Rule, list[Violation]]:
    """Validates the unsaved rule and runs it on one typed message: ``(rule, violations)``."""
    rule = Rule.from_dict(rule_data, directory=directory)
    engine = RuleEngine([Rule.from_dict({**rule.to_dict(), "enabled": True})], directory)
    now = clock.now_ms()
    message = Message(
        msgid="live-test",
        seq=0,
        action="send",
        msgtype=msgtype,
        time_ms=now,
        sender=sender,
        sender_kind=sender_kind,  # type: ignore[arg-type]
        receivers=[],
        roomid="",
        chat_id="live-test",
        chat_kind=chat_kind,  # type: ignore[arg-type]
        text=text,
        raw="",
        employees=[sender] if sender_kind == "employee" else [],
        departments=list(directory.departments_of(sender)) if directory is not None else [],
    )
    message.words = get_analyzer().words(text)
    return rule, engine.match(message)
