"""Personal-data detectors: numbers with checksums, evasive digit spellings, e-mail, URLs."""

from __future__ import annotations

import random

import pytest

from analyzers.rules.detectors import detect, idcard_valid, luhn_valid


def _id_number(rng: random.Random) -> str:
    body = f"110105{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * x for d, x in zip(body, w)) % 11]


def _luhn(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError


ID = "11010519491231002X"
CARD = _luhn("622202123456789012")  # 19 digits

CASES = [
    ("plain phone", "我手机13812345678有事打我", [("phone", "13812345678")]),
    ("spaced phone", "电话 138 1234 5678", [("phone", "138 1234 5678")]),
    ("dashed phone", "打138-1234-5678", [("phone", "138-1234-5678")]),
    ("full-width phone", "打１３８１２３４５６７８", [("phone", "１３８１２３４５６７８")]),
    ("+86 phone", "+86 13812345678", [("phone", "86 13812345678")]),
    ("phone in Chinese numerals", "我电话幺三八幺二三四五六七八，记一下", [("phone", "幺三八幺二三四五六七八")]),
    ("phone in mixed numerals", "打138一二三四五六七八", [("phone", "138一二三四五六七八")]),
    ("ordinary Chinese numerals", "一二三四五六七八九十，数到十", []),
    ("too short", "打1381234567", []),
    ("not a mobile prefix", "编号12812345678", []),
    ("id card", f"身份证{ID}", [("idcard", ID)]),
    ("spaced id card", "身份证 1101 0519 4912 3100 2X", [("idcard", "1101 0519 4912 3100 2X")]),
    ("id card bad checksum", "身份证110105194912310021", []),
    ("id card bad date", "身份证110105194913310021", []),
    ("bank card", f"卡号{CARD}", [("bankcard", CARD)]),
    (
        "spaced bank card",
        f"卡号 {' '.join(CARD[i : i + 4] for i in range(0, 19, 4))}",
        [("bankcard", " ".join(CARD[i : i + 4] for i in range(0, 19, 4)))],
    ),
    ("bank card bad luhn", f"卡号{CARD[:-1]}{(int(CARD[-1]) + 1) % 10}", []),
    ("order number", "订单号20231121000012345", []),
    ("amount", "金额 1,000,000.00 元", []),
    ("number in an @mention nickname", "@M邹凡进15889231335 保修怎么样", [("phone", "15889231335")]),
    (
        "digits inside a link",
        "详情 https://mp.weixin.qq.com/s/16139438117cda463a92961",
        [("url", "https://mp.weixin.qq.com/s/16139438117cda463a92961")],
    ),
    ("email", "发到 Zhang.Wei@example.com.cn 吧", [("email", "Zhang.Wei@example.com.cn")]),
    ("url", "看这个 https://evil.example.com/a?b=1 链接", [("url", "https://evil.example.com/a?b=1")]),
    ("bare domain", "上 licai888.com 注册", [("url", "licai888.com")]),
]


@pytest.mark.parametrize("text,expected", [(t, e) for _, t, e in CASES], ids=[c[0] for c in CASES])
def test_detectors_find_exactly_the_personal_data(text: str, expected: list[tuple[str, str]]) -> None:
    found = [(d.kind, text[d.start : d.end]) for d in detect(text)]
    assert found == expected


def test_generated_id_numbers_validate_and_corrupted_ones_do_not() -> None:
    """GIVEN many valid ID numbers WHEN one digit changes THEN the check digit catches it."""
    rng = random.Random(7)
    for _ in range(300):
        n = _id_number(rng)
        assert idcard_valid(n)
        i = rng.randrange(17)
        bad = n[:i] + str((int(n[i]) + rng.randint(1, 9)) % 10) + n[i + 1 :]
        assert not idcard_valid(bad)


def test_luhn_matches_a_brute_force_definition() -> None:
    rng = random.Random(3)
    for _ in range(500):
        number = "".join(rng.choice("0123456789") for _ in range(rng.randint(12, 19)))
        digits = [int(c) for c in number][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        assert luhn_valid(number) == (total % 10 == 0)
