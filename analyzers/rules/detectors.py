"""Personal-data detectors: mainland mobile numbers, ID card numbers, bank card numbers,
e-mail addresses and URLs, found on the original text (spans are original offsets).

Numbers are often written with spaces or dashes to slip past filters (138 1234 5678,
138-1234-5678, full-width digits, Chinese numerals 幺三八…); a digit run may therefore contain single separators
between its digits. The run's digits alone decide what it is, and checksums keep
order numbers and amounts out: ID cards need the GB 11643 check digit and a valid birth
date, bank cards the Luhn check and a card-scheme first digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from analyzers.textfold import fold

PII_KINDS = ("phone", "idcard", "bankcard", "email", "url")

# Digits with at most one separator between consecutive digits; an optional check "X".
# Not glued to latin letters, digits or URL punctuation: 16139438117cda46 in a link is no phone.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z/=&%#])(?:\+\s?)?[0-9](?:[ \-.\u00a0_]?[0-9])*(?:[ \-]?[xX])?(?![0-9A-Za-z])")
_NOT_DIGIT = re.compile(r"[^0-9xX]")
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'，。！？、）()（]+"
    r"|(?<![A-Za-z0-9@.\-])[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.(?:com|cn|net|org|top|xyz|cc|io|vip|info)(?:/[^\s<>\"'，。！？、）()（]*)?(?![A-Za-z0-9])"
)

# One character each, so offsets hold: 〇/零 0, 一/幺 1, 二/两 2, … 九 9.
CHINESE_DIGITS = str.maketrans("〇零一幺二两三四五六七八九", "0011223456789")
_HAS_CHINESE_DIGIT = re.compile(r"[〇零一幺二两三四五六七八九]{3}")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Detection:
    kind: str  # phone | idcard | bankcard | email | url
    start: int
    end: int
    value: str  # the digits (numbers) or the matched text


def idcard_valid(digits: str) -> bool:
    """An 18-character resident ID number with a valid check digit and birth date."""
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != digits[17].upper():
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def classify_number(digits: str) -> str:
    """phone | idcard | bankcard | "" for a run's digits (separators removed)."""
    if len(digits) == 13 and digits.startswith("86") and _PHONE.fullmatch(digits[2:]):
        return "phone"
    if _PHONE.fullmatch(digits):
        return "phone"
    if idcard_valid(digits):
        return "idcard"
    if 16 <= len(digits) <= 19 and digits[0] in "3456" and luhn_valid(digits):
        return "bankcard"
    return ""


def detect(text: str, kinds: tuple[str, ...] | frozenset[str] = PII_KINDS) -> list[Detection]:
    """Every detection of the requested kinds in ``text``, in text order."""
    folded = fold(text)  # full-width digits and letters → ASCII, same length
    out: list[Detection] = []
    if {"phone", "idcard", "bankcard"} & set(kinds):
        # Numbers spelled in Chinese numerals (幺三八…) are a common way round filters.
        numbers = folded.translate(CHINESE_DIGITS) if _HAS_CHINESE_DIGIT.search(folded) else folded
        for m in _DIGIT_RUN.finditer(numbers):
            digits = _NOT_DIGIT.sub("", m.group())
            if len(digits) < 11:
                continue
            kind = classify_number(digits)
            if kind and kind in kinds:
                start = m.start() + (1 if numbers[m.start()] == "+" else 0)
                out.append(Detection(kind, start, m.end(), digits))
    if "email" in kinds and "@" in folded:
        out.extend(Detection("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(folded))
    if "url" in kinds and "." in folded:
        for m in _URL.finditer(folded):
            if not any(d.kind == "email" and d.start <= m.start() < d.end for d in out):
                out.append(Detection("url", m.start(), m.end(), m.group()))
    out.sort(key=lambda d: (d.start, d.end))
    return out
