"""The rule engine: semantics table, and equality with a brute-force reference."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.chinese import get_analyzer
from analyzers.rules.engine import RuleEngine
from analyzers.rules.model import Rule
from analyzers.rules.normalize import normalize_fast, normalize_for_rules
from core.models import Message
from tests.helpers import examples, make_message


def msg(
    text: str,
    *,
    msgtype: str = "text",
    sender_kind: str = "employee",
    chat_kind: str = "external",
    time_ms: int = 1_700_000_000_000,
    chat_id: str = "zhangsan|wmcustomer000000000001",
    msgid: str = "m1",
    employees: tuple[str, ...] = ("zhangsan",),
    departments: tuple[int, ...] = (5, 2, 1),
) -> Message:
    return make_message(
        text,
        msgid=msgid,
        msgtype=msgtype,
        time_ms=time_ms,
        to=(),
        sender_kind=sender_kind,
        chat_id=chat_id,
        chat_kind=chat_kind,
        employees=list(employees),
        departments=list(departments),
    )


def hits(rule: dict[str, Any], text: str, **kw: Any) -> list[tuple[list[str], list[str]]]:
    """(terms, the original substrings of the spans) per violation."""
    engine = RuleEngine([Rule.from_dict({"name": "t", **rule})])
    return [(v.terms, [text[s:e] for s, e in v.spans]) for v in engine.match(msg(text, **kw))]


KB = {"keywords": ["回扣", "返点"], "pinyin": True, "allow": ["来回扣"]}

SEMANTICS = [
    ("plain keyword", KB, "给你回扣", [(["回扣"], ["回扣"])]),
    ("dash evasion", KB, "给你回-扣", [(["回扣"], ["回-扣"])]),
    ("traditional", KB, "給你回釦", [(["回扣"], ["回釦"])]),
    ("pinyin", KB, "给你huikou吧", [(["回扣"], ["huikou"])]),
    ("spaced pinyin", KB, "给你 hui kou 吧", [(["回扣"], ["hui kou"])]),
    ("full-width pinyin", KB, "ＨＵＩＫＯＵ", [(["回扣"], ["ＨＵＩＫＯＵ"])]),
    ("pinyin glued into a latin word", KB, "chuikoul", []),
    ("homophone in characters is not pinyin evasion", {"keywords": ["保本"], "pinyin": True}, "报本", []),
    (
        "mixed characters and pinyin",
        {"keywords": ["个人微信"], "pinyin": True},
        "加我个人weixin",
        [(["个人微信"], ["个人weixin"])],
    ),
    ("allow-listed occurrence", KB, "快递费来回扣款了", []),
    ("a hit across punctuation inside words is no evasion", KB, "点击返回，扣款页面就关了", []),
    ("punctuation between the characters is", KB, "老规矩，回。扣月底给", [(["回扣"], ["回。扣"])]),
    (
        "separated keyword glued to the next word",
        {"keywords": ["转我个人账户"]},
        "以后转/我/个/人/账/户聊",
        [(["转我个人账户"], ["转/我/个/人/账/户"])],
    ),
    (
        "separated keyword glued to the previous word",
        {"keywords": ["好处费"]},
        "这单成了给你好_处_费，你放心",
        [(["好处费"], ["好_处_费"])],
    ),
    ("allow masks only its own occurrence", KB, "来回扣款，另外给你回扣", [(["回扣"], ["回扣"])]),
    ("two keywords", KB, "回扣和返点", [(["回扣", "返点"], ["回扣", "返点"])]),
    ("exclude vetoes", {"keywords": ["保本"], "exclude": ["不保本"]}, "不保本，但保本", []),
    ("require all, one missing", {"keywords": ["保证", "收益"], "require": "all"}, "保证没问题", []),
    (
        "require all",
        {"keywords": ["保证", "收益"], "require": "all"},
        "收益有保证",
        [(["保证", "收益"], ["收益", "保证"])],
    ),
    ("at least two", {"keywords": ["a1", "b2", "c3"], "require": 2}, "x a1 y c3", [(["a1", "c3"], ["a1", "c3"])]),
    ("at least two, one only", {"keywords": ["a1", "b2", "c3"], "require": 2}, "x a1 y", []),
    ("word mode misses inside a word", {"keywords": [{"term": "大麻", "match": "word"}]}, "这下可是大麻烦了", []),
    ("word mode hits a word", {"keywords": [{"term": "大麻", "match": "word"}]}, "他在吸大麻", [(["大麻"], ["大麻"])]),
    ("word mode across a crossing", {"keywords": [{"term": "口交", "match": "word"}]}, "前面路口交通管制", []),
    ("substring mode does hit inside", {"keywords": ["大麻"]}, "这下可是大麻烦了", [(["大麻"], ["大麻"])]),
    (
        "near within",
        {"near": [{"terms": ["保证", "收益"], "within": 3}]},
        "保证年化收益",
        [(["保证", "收益"], ["保证", "收益"])],
    ),
    ("near too far", {"near": [{"terms": ["保证", "收益"], "within": 3}]}, "保证您满意，我们的收益", []),
    ("regex", {"regex": ["\\d{3}-\\d{4}"]}, "分机 123-4567", [(["regex:\\d{3}-\\d{4}"], ["123-4567"])]),
    ("phone behaviour", {"behaviours": ["phone"]}, "电话 138 1234 5678", [(["phone"], ["138 1234 5678"])]),
    (
        "phone in Chinese numerals",
        {"behaviours": ["phone"]},
        "我电话幺三八幺二三四五六七八",
        [(["phone"], ["幺三八幺二三四五六七八"])],
    ),
    ("latin keyword bounded", {"keywords": ["sb"]}, "你是sb吗", [(["sb"], ["sb"])]),
    ("latin keyword inside a word", {"keywords": ["sb"]}, "插上usb接口", []),
]


@pytest.mark.parametrize("rule,text,expected", [c[1:] for c in SEMANTICS], ids=[c[0] for c in SEMANTICS])
def test_rule_semantics(rule: dict[str, Any], text: str, expected: list[Any]) -> None:
    assert hits(rule, text) == expected


PRECONDITIONS = [
    ("msgtype allowed", {"msgtypes": ["text"]}, {}, True),
    ("msgtype not allowed", {"msgtypes": ["file"]}, {}, False),
    ("direction employee", {"direction": "employee"}, {}, True),
    ("direction customer", {"direction": "customer"}, {}, False),
    ("customer sender", {"direction": "customer"}, {"sender_kind": "external"}, True),
    ("chat kind", {"chat_kinds": ["internal"]}, {}, False),
    ("scope department (ancestor)", {"scope": {"departments": [2]}}, {}, True),
    ("scope other department", {"scope": {"departments": [7]}}, {}, False),
    ("scope user", {"scope": {"users": ["zhangsan"]}}, {}, True),
    ("scope other user", {"scope": {"users": ["lisi"]}}, {}, False),
]


@pytest.mark.parametrize("extra,msgkw,fires", [c[1:] for c in PRECONDITIONS], ids=[c[0] for c in PRECONDITIONS])
def test_preconditions(extra: dict[str, Any], msgkw: dict[str, Any], fires: bool) -> None:
    assert bool(hits({"keywords": ["回扣"], **extra}, "回扣", **msgkw)) is fires


@pytest.mark.parametrize(
    "msgtype,behaviour,fires",
    [
        ("redpacket", "redpacket", True),
        ("external_redpacket", "external_redpacket", True),
        ("file", "file", True),
        ("text", "file", False),
        ("revoke", "revoke", True),
        ("redpacket", "file", False),
    ],
)
def test_message_type_behaviours(msgtype: str, behaviour: str, fires: bool) -> None:
    result = hits({"behaviours": [behaviour]}, "", msgtype=msgtype)
    assert bool(result) is fires
    if fires:
        assert result[0][0] == [f"msgtype:{msgtype}"]


def test_violation_carries_rule_version_severity_and_explanation() -> None:
    """GIVEN a saved rule version WHEN it fires on an evasive spelling
    THEN the violation names the rule and version and explains the evasion."""
    rule = Rule.from_dict(
        {"name": "回扣", "id": "rk", "version": 3, "severity": "high", "category": "回扣返点", "keywords": ["回扣"]}
    )
    [v] = RuleEngine([rule]).match(msg("老规矩，回-扣月底给你"))
    assert (v.rule_id, v.rule_version, v.severity, v.category, v.msgid) == ("rk", 3, "high", "回扣返点", "m1")
    assert v.spans == [[4, 7]] and v.terms == ["回扣"]
    assert "回扣→回-扣" in v.explanation and "v3" in v.explanation


def test_repeated_hits_in_one_conversation_share_a_group_within_the_window() -> None:
    """GIVEN hits of one rule in one chat at 0, 10, 35 min and 90 min, and one in another chat
    WHEN matched in a batch THEN the first three share a group (each within 30 min of the last),
    the fourth starts a new one, and the other chat has its own."""
    rule = Rule.from_dict({"name": "kb", "keywords": ["回扣"]})
    engine = RuleEngine([rule])
    t0, minute = 1_700_000_000_000, 60_000
    messages = [msg("回扣", msgid=f"m{i}", time_ms=t0 + m * minute) for i, m in enumerate([0, 10, 35, 90])]
    messages.append(msg("回扣", msgid="other", chat_id="lisi|wmx", time_ms=t0))
    groups = {v.msgid: v.group_key for v in engine.match_batch(messages)}
    assert groups["m0"] == groups["m1"] == groups["m2"]
    assert groups["m3"] != groups["m0"]
    assert groups["other"] not in (groups["m0"], groups["m3"])


def test_a_rebuilt_engine_continues_the_open_groups() -> None:
    """GIVEN a hit, then a rule edit (the pipeline rebuilds its engine), then another hit
    10 minutes later in the same chat WHEN the new engine takes over the old one's groups
    THEN both hits share a group."""
    t0 = 1_700_000_000_000
    old = RuleEngine([Rule.from_dict({"name": "kb", "id": "kb", "version": 1, "keywords": ["回扣"]})])
    [first] = old.match(msg("回扣", msgid="a", time_ms=t0))
    new = RuleEngine(
        [Rule.from_dict({"name": "kb", "id": "kb", "version": 2, "keywords": ["回扣", "返点"]})], groups=old.groups
    )
    [second] = new.match(msg("返点", msgid="b", time_ms=t0 + 600_000))
    assert first.group_key == second.group_key


def test_disabled_rules_never_fire() -> None:
    rule = Rule.from_dict({"name": "kb", "keywords": ["回扣"], "enabled": False})
    assert RuleEngine([rule]).match(msg("回扣")) == []


# ------------------------------------------------------------------ brute-force reference
def _find_all(text: str, sub: str) -> list[int]:
    return [i for i in range(len(text) - len(sub) + 1) if text.startswith(sub, i)]


def reference(rule: Rule, text: str) -> tuple[list[str], list[list[int]]] | None:
    """The documented semantics, written the slow obvious way (substring/word, allow,
    exclude, require, near) for Chinese-only keywords."""
    norm, offsets = normalize_for_rules(text)
    if any(normalize_fast(x) in norm for x in rule.exclude):
        return None
    allowed = [(s, s + len(a)) for a in map(normalize_fast, rule.allow) for s in _find_all(norm, a)]
    bounds = {0, len(norm)} | {b for _w, s, e in get_analyzer().spans(norm) for b in (s, e)}
    original_bounds = {0, len(text)} | {b for _w, s, e in get_analyzer().spans(text) for b in (s, e)}

    def split_ok(s: int, e: int) -> bool:
        os_, oe = offsets[s], offsets[e - 1] + 1
        return oe - os_ == e - s or os_ in original_bounds or oe in original_bounds

    def ok(s: int, e: int, word: bool) -> bool:
        return (
            not any(a <= s and e <= b for a, b in allowed)
            and (not word or (s in bounds and e in bounds))
            and split_ok(s, e)
        )

    terms: list[str] = []
    spans: set[tuple[int, int]] = set()
    occ = {}
    for kw in rule.keywords:
        found = [(s, s + len(kw.normalized)) for s in _find_all(norm, kw.normalized)]
        found = [(s, e) for s, e in found if ok(s, e, kw.match == "word")]
        if found:
            occ[kw.term] = found
    if rule.keywords and len(occ) >= rule.required_count:
        for kw in rule.keywords:
            if kw.term in occ:
                terms.append(kw.term)
                spans.update((offsets[s], offsets[e - 1] + 1) for s, e in occ[kw.term])
    for near in rule.near:
        per = [
            [
                (s, s + len(normalize_fast(t)))
                for s in _find_all(norm, normalize_fast(t))
                if ok(s, s + len(normalize_fast(t)), False)
            ]
            for t in near.terms
        ]
        good = [
            c
            for c in product(*per)
            if max(e for _, e in c) - min(s for s, _ in c) - sum(e - s for s, e in c) <= near.within
        ]
        if good:
            best = min(good, key=lambda c: max(e for _, e in c) - min(s for s, _ in c))
            for t, (s, e) in zip(near.terms, best):
                if t not in terms:
                    terms.append(t)
                spans.add((offsets[s], offsets[e - 1] + 1))
    if not terms:
        return None
    return terms, [list(s) for s in sorted(spans)]


ALPHABET = list("回扣返点保本来收益大麻烦")
SEPARATORS = ["-", " ", "*", "。", "回", "扣"]
words = st.text(alphabet=ALPHABET, min_size=1, max_size=3)


@st.composite
def rules(draw: Any) -> Rule:
    kws = draw(st.lists(words, min_size=0, max_size=4, unique=True))
    data: dict[str, Any] = {
        "name": "p",
        "keywords": [{"term": k, "match": draw(st.sampled_from(["substring", "word"]))} for k in kws],
        "allow": draw(st.lists(st.text(alphabet=ALPHABET, min_size=2, max_size=4), max_size=2)),
        "exclude": draw(st.lists(st.text(alphabet=ALPHABET, min_size=3, max_size=4), max_size=1)),
    }
    if kws:
        data["require"] = draw(st.sampled_from(["any", "all", *range(1, len(kws) + 1)]))
    if draw(st.booleans()) or not kws:
        data["near"] = [{"terms": draw(st.lists(words, min_size=2, max_size=3)), "within": draw(st.integers(0, 5))}]
    return Rule.from_dict(data)


def _fragments(rule: Rule) -> list[str]:
    """Pieces a text is built from: the rule's own terms (so hits are common), separators, letters."""
    own = [k.term for k in rule.keywords] + rule.allow + rule.exclude + [t for n in rule.near for t in n.terms]
    evasive = ["-".join(t) for t in own]
    return own + evasive + SEPARATORS + ALPHABET


@settings(max_examples=examples(300))
@given(rules(), st.data())
def test_engine_equals_the_brute_force_reference(rule: Rule, data: Any) -> None:
    """GIVEN any rule over a small alphabet and a text built from its terms, evasive
    spellings of them, separators and other characters
    THEN the engine's terms and spans are exactly the reference's."""
    text = "".join(data.draw(st.lists(st.sampled_from(_fragments(rule)), max_size=12)))
    expected = reference(rule, text)
    got = RuleEngine([rule]).match(msg(text))
    if expected is None:
        assert got == []
    else:
        assert len(got) == 1
        assert (sorted(got[0].terms), got[0].spans) == (sorted(expected[0]), expected[1])


@settings(max_examples=examples(30))
@given(
    st.lists(rules(), min_size=2, max_size=8), st.lists(st.text(alphabet=ALPHABET + ["-"], max_size=20), max_size=10)
)
def test_many_rules_in_one_engine_equal_each_rule_alone(rule_list: list[Rule], texts: list[str]) -> None:
    """One automaton for all rules must give what each rule gives on its own."""
    for i, r in enumerate(rule_list):
        r.id, r.name = f"r{i}", f"rule {i}"
    together = RuleEngine(rule_list)
    for t in texts:
        combined = sorted((v.rule_id, v.spans) for v in together.match(msg(t)))
        alone = sorted((v.rule_id, v.spans) for r in rule_list for v in RuleEngine([r]).match(msg(t)))
        assert combined == alone
