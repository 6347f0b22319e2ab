"""Writes tests/data/evasion_set.jsonl: the labelled evasion test set of the starter pack.

Deterministic (seeded). Positives: every starter keyword written plainly and evasively
(separators, traditional characters, full-width letters, pinyin, mixed pinyin) inside
everyday sentences, and personal data in the spellings people use. Negatives: hand-written
innocent sentences that naive keyword filters flag. Each line:
``{"text", "rule", "term", "expect": bool, "kind"}``; ``expect`` says whether ``rule``
must flag ``text`` (with ``term`` among the matched terms). Run from the repository root:
``.venv/bin/python tests/data/make_evasion_set.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import opencc
import yaml
from pypinyin import lazy_pinyin

HERE = Path(__file__).parent
STARTER = HERE.parent.parent / "analyzers" / "rules" / "starter.yaml"
SEPARATORS = ["-", " ", "*", "。", "_", "/", "·", "~", "  ", "|", "\u3000", "😊"]
TEMPLATES = [
    "这个事情{T}，你看怎么样",
    "老规矩，{T}，月底前办好",
    "{T}的事别跟别人说",
    "我跟你讲 {T} 就这么定了",
    "刚才说的{T}没问题吧？",
]
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}

NEGATIVES: list[tuple[str, str]] = [
    ("承诺收益", "这款是净值型产品，不保本，有亏损的可能"),
    ("承诺收益", "按监管要求现在理财产品都不保本了，您要考虑清楚"),
    ("承诺收益", "我们不能保证收益，过往业绩不代表未来表现"),
    ("承诺收益", "十年期国债收益率常被当作无风险利率"),
    ("承诺收益", "风险提示：本产品非保本浮动收益型"),
    ("承诺收益", "市场有风险，投资需谨慎，不是零风险的"),
    ("承诺收益", "报本反始是一个成语"),
    ("承诺收益", "这个方案无法保证收益，但是流动性好"),
    ("承诺收益", "我稳住了情绪，赚钱的事以后再说"),
    ("回扣返点", "快递费来回扣款了两次，帮我看看怎么回事"),
    ("回扣返点", "系统已退回扣款，请查收"),
    ("回扣返点", "信用卡积分返点活动下个月结束"),
    ("回扣返点", "他回去扣了门，没人应"),
    ("回扣返点", "点击返回，扣款页面就关了"),
    ("回扣返点", "这是一个 chuikoul 测试字符串"),
    ("回扣返点", "请把好处和坏处都写清楚，费用另算"),
    ("违禁内容", "这下可是大麻烦了"),
    ("违禁内容", "不好意思给您添了个大麻烦"),
    ("违禁内容", "前面路口交通管制，晚点到"),
    ("违禁内容", "学校那个路口交通高峰期很堵"),
    ("违禁内容", "路口交警在查酒驾"),
    ("违禁内容", "大麻烦你帮我看一下"),
    ("辱骂与不当言论", "插上usb接口就能用"),
    ("辱骂与不当言论", "我们请了神经病学专家会诊"),
    ("辱骂与不当言论", "这个去死皮的膏很好用"),
    ("辱骂与不当言论", "垃圾分类从我做起"),
    ("辱骂与不当言论", "他是个废物利用的高手"),
    ("辱骂与不当言论", "SBC 芯片的型号是多少"),
    ("辱骂与不当言论", "我妈的生日快到了"),
    ("辱骂与不当言论", "清理卫生死角要仔细"),
    ("私下交易", "公司规定禁止私下交易，请走正规流程"),
    ("私下交易", "请不要私下转账，认准公司对公账户"),
    ("私下交易", "我们用 vxworks 做嵌入式开发"),
    ("私下交易", "请通过公司官方微信公众号办理"),
    ("手机号", "订单号20231121000012345请核对"),
    ("手机号", "金额 13,812,345.67 元"),
    ("手机号", "客服热线 400-820-8820"),
    ("手机号", "编号12812345678"),
    ("手机号", "合同号 1381234567"),
    ("手机号", "一二三四五六七八九十，大家一起数"),
    ("身份证号", "身份证110105194912310021格式不对"),
    ("身份证号", "流水号 110105194913310028"),
    ("银行卡号", "卡号6222021234567890124（输错了）"),
    ("银行卡号", "订单 2023112112345678901"),
    ("银行卡号", "时间戳 1700000000000000"),
]


def id_number(rng: random.Random) -> str:
    area, year = rng.choice(["110105", "310104", "440305"]), rng.randint(1955, 2004)
    body = f"{area}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def card_number(rng: random.Random) -> str:
    body = rng.choice(["622202", "621700", "622848"]) + "".join(
        rng.choice("0123456789") for _ in range(rng.choice([9, 12]))
    )
    for check in "0123456789":
        digits = [int(c) for c in body + check][::-1]
        if sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)) % 10 == 0:
            return body + check
    raise AssertionError


def main() -> None:
    rng = random.Random(20241121)
    s2t = opencc.OpenCC("s2t")
    rules = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    rows: list[dict[str, object]] = []

    def add(text: str, rule: str, term: str, expect: bool, kind: str) -> None:
        rows.append({"text": text, "rule": rule, "term": term, "expect": expect, "kind": kind})

    for rule in rules:
        for kw in rule.get("keywords") or []:
            term = kw if isinstance(kw, str) else kw["term"]
            pinyin = kw.get("pinyin") if isinstance(kw, dict) else None
            pinyin = rule.get("pinyin", False) if pinyin is None else pinyin
            t = lambda w: rng.choice(TEMPLATES).replace("{T}", w)  # noqa: E731
            add(t(term), rule["name"], term, True, "plain")
            if len(term) > 1:
                for _ in range(2):
                    add(t(rng.choice(SEPARATORS).join(term)), rule["name"], term, True, "separator")
            trad = s2t.convert(term)
            if trad != term:
                add(t(trad), rule["name"], term, True, "traditional")
            if any(c.isascii() and c.isalpha() for c in term):
                add(t("".join(FULLWIDTH.get(c, c) for c in term.upper())), rule["name"], term, True, "fullwidth")
            if pinyin and any("\u4e00" <= c <= "\u9fff" for c in term):
                syllables = lazy_pinyin(term)
                add(t("".join(syllables)), rule["name"], term, True, "pinyin")
                add(t(" ".join(syllables)), rule["name"], term, True, "pinyin")
                add(t("".join(FULLWIDTH.get(c, c) for c in "".join(syllables))), rule["name"], term, True, "pinyin")
    for _ in range(8):
        phone = rng.choice(["138", "159", "186", "199"]) + "".join(rng.choice("0123456789") for _ in range(8))
        add(f"我电话是{phone}，有事打我", "手机号", "phone", True, "pii")
        add(f"新号码 {phone[:3]} {phone[3:7]} {phone[7:]} 存一下", "手机号", "phone", True, "pii")
        add(f"打{phone[:3]}-{phone[3:7]}-{phone[7:]}找我", "手机号", "phone", True, "pii")
        add(f"我手机{''.join(FULLWIDTH[c] for c in phone)}", "手机号", "phone", True, "pii")
        add(f"加我，{''.join('零幺二三四五六七八九'[int(c)] for c in phone)}", "手机号", "phone", True, "pii")
        idn = id_number(rng)
        add(f"身份证号{idn}，帮我登记", "身份证号", "idcard", True, "pii")
        add(f"身份证 {' '.join(idn[i : i + 4] for i in range(0, 18, 4))}", "身份证号", "idcard", True, "pii")
        card = card_number(rng)
        add(f"钱打到这张卡{card}，户名王伟", "银行卡号", "bankcard", True, "pii")
        add(f"卡号 {' '.join(card[i : i + 4] for i in range(0, len(card), 4))}", "银行卡号", "bankcard", True, "pii")
    for rule, text in NEGATIVES:
        add(text, rule, "", False, "negative")
    with open(HERE / "evasion_set.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows ({sum(1 for r in rows if r['expect'])} positive)")


if __name__ == "__main__":
    main()
