"""Planted compliance events (the ground truth of labels.jsonl) and near-misses.

A plant is a chat sentence that contains one term of a category, sometimes spelled
evasively (回-扣, 回 扣, 回*扣, traditional 回釦/穩賺, pinyin huikou, full-width letters and
digits); evasive plants carry the extra label ``evasion``. ``terms`` are the exact substrings
written into the text, so a label can always be checked against its message.
Near-misses (不保本, 大麻烦, 路口交通, …) are innocent sentences that naive rules flag.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from indexer.source.simulator.org import chinese_name, mobile_number


@dataclass
class Plant:
    text: str
    labels: list[str]
    terms: list[str] = field(default_factory=list)


# category -> (terms, evasive spellings by term, templates with <T>)
TERMS: dict[str, list[str]] = {
    "promised_return": ["保本", "稳赚", "收益率保证", "保证收益", "稳赚不赔", "保本保息", "零风险"],
    "private_transaction": [
        "私下转账",
        "加我个人微信",
        "私下交易",
        "转我个人账户",
        "加我私人微信",
        "加我VX",
        "微信转我",
    ],
    "kickback": ["回扣", "返点", "好处费", "返佣"],
    "abuse": ["傻逼", "你有病吧", "脑子进水", "去死", "垃圾公司", "神经病", "滚蛋"],
}

# Fixed evasive spellings that cannot be derived mechanically.
SPECIAL_EVASIONS: dict[str, list[str]] = {
    "回扣": ["回釦", "huikou", "hui kou", "ｈｕｉｋｏｕ", "HuiKou"],
    "稳赚": ["穩賺", "wenzhuan", "ｗｅｎｚｈｕａｎ"],
    "稳赚不赔": ["穩賺不賠"],
    "保本": ["baoben", "ｂａｏｂｅｎ"],
    "保证收益": ["保證收益", "baozheng shouyi"],
    "返点": ["返點", "fandian"],
    "返佣": ["返傭"],
    "好处费": ["好處費", "haochufei"],
    "私下转账": ["私下轉賬", "sixia zhuanzhang"],
    "私下交易": ["私下交昜"],
    "加我VX": ["加我ＶＸ", "加我ｖｘ", "+我vx"],
    "加我个人微信": ["加我個人微信", "加我个人weixin"],
    "傻逼": ["傻B", "sb", "ＳＢ", "shabi"],
    "垃圾公司": ["垃圾公.司", "lese公司"],
}

TEMPLATES: dict[str, list[str]] = {
    "promised_return": [
        "<cust>放心，这款产品<T>的，年化{大概|至少}<rate>",
        "我跟您说实话，这个<T>，{我自己也买了|好多老客户都买了}",
        "{绝对|肯定}<T>，{您就放心吧|不会亏的|比存银行强多了}",
        "{这款|这个}<product><T>，{到期连本带息一起给您|您随时问我}",
    ],
    "private_transaction": [
        "{走公司流程|手续费}太{慢|高}了，{您|你}直接<T>吧，{便宜点|我给您优惠}",
        "{以后|有事}<T>{聊|说}，这个号{不方便|公司能看到}",
        "公司系统{太慢|今天维护}，<T>，{当天就能办好|我帮你搞定}",
    ],
    "kickback": [
        "这单{成了|签了}给你{<n>个点的|}<T>，{老规矩|你放心}",
        "{老规矩|放心}，<T>{月底|下周}{给你|打你卡上}",
        "{对方|他们}说可以给<T>，{你看|要不要}{接|考虑一下}",
    ],
    "abuse": [
        "你们{是不是|就是}<T>{啊|}，{退钱|再也不买了}",
        "<T>，{什么破服务|等了三天没人理}",
        "{客服|你}{是不是|真是}<T>，{听不懂人话吗|说了多少遍了}",
    ],
    "phone": [
        "我{手机|电话}是<T>，{有事直接打我|加微信也是这个号}",
        "{你|您}打<T>{找|联系}<name>{就行|，他负责这块}",
        "{我换号了|新号码}<T>，{存一下|以后打这个}",
    ],
    "idcard": [
        "身份证号<T>，{姓名|名字}<name>，{麻烦帮我登记|帮我开户}",
        "{帮我|麻烦}{登记|查}一下，身份证<T>",
        "<name>的身份证是<T>，{你录一下|合同上要写}",
    ],
    "bankcard": [
        "{钱|款}打到这张卡<T>，户名<name>",
        "我的{银行卡|卡号}是<T>，{开户行|开户行是}{招商银行|建设银行|工商银行}",
        "{退款|返现}{打到|转到}<T>{就行|吧}",
    ],
}

NEAR_MISSES: list[tuple[str, str]] = [
    ("不保本", "这款是净值型产品，不保本，{有亏损的可能|请您知悉风险}"),
    ("不保本", "{按监管要求|现在}理财产品都不保本了，{您要考虑清楚|您看能接受吗}"),
    ("大麻烦", "{这下|要是合同错了}{可|真}是大麻烦了"),
    ("大麻烦", "{不好意思|抱歉}给您添了个大麻烦"),
    ("路口交通", "{前面|这个}路口交通{管制|拥堵}，{晚点到|我绕一下}"),
    ("路口交通", "{店门口|学校}那个路口交通{不太方便|高峰期很堵}，{建议地铁过来|您早点出门}"),
    ("来回扣款", "快递费来回扣款了两次，{帮我看看|怎么回事}"),
]

_ID_REGIONS = ["110101", "110105", "310104", "310115", "440305", "440106", "330106", "510107", "320102", "420106"]
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def id_card_check_digit(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_card_number(rng: random.Random) -> str:
    """A valid 18-digit resident ID number (region, birth date, sequence, ISO 7064 check digit)."""
    first17 = (
        f"{rng.choice(_ID_REGIONS)}{rng.randint(1962, 2003)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(0, 999):03d}"
    )
    return first17 + id_card_check_digit(first17)


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d)
        if i % 2 == 0:  # doubled: the digit right of it will be the check digit
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def bank_card_number(rng: random.Random) -> str:
    """A 16- or 19-digit UnionPay-style card number passing the Luhn check."""
    length = rng.choice([16, 19, 19])
    body = rng.choice(["622202", "621700", "622848", "621483", "622588", "625911"])
    body += "".join(str(rng.randint(0, 9)) for _ in range(length - 1 - len(body)))
    return body + luhn_check_digit(body)


def _separate(term: str, rng: random.Random) -> str:
    """回扣 -> 回-扣 / 回 扣 / 回*扣 (one separator kind between every character)."""
    sep = rng.choice(["-", " ", "*", ".", "_", "/"])
    return sep.join(term)


class Planter:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _evasive(self, term: str) -> str:
        rng = self.rng
        special = SPECIAL_EVASIONS.get(term, [])
        if special and rng.random() < 0.6:
            return rng.choice(special)
        if term.isascii():
            return "".join(_FULLWIDTH.get(c, c) for c in term)
        return _separate(term, rng)

    def _number_evasion(self, number: str) -> str:
        if self.rng.random() < 0.5:
            return "".join(_FULLWIDTH.get(c, c) for c in number)
        if len(number) == 11:
            return f"{number[:3]} {number[3:7]} {number[7:]}"
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))

    def violation(self, category: str, expand, ctx: dict[str, str], evasion_rate: float = 0.3) -> Plant:
        """A sentence of ``category`` (``expand(template, ctx)`` is the phrase grammar's expander)."""
        rng = self.rng
        evasive = rng.random() < evasion_rate
        if category == "phone":
            term = mobile_number(rng)
        elif category == "idcard":
            term = id_card_number(rng)
        elif category == "bankcard":
            term = bank_card_number(rng)
        else:
            term = rng.choice(TERMS[category])
        if evasive:
            term = self._number_evasion(term) if category in ("phone", "idcard", "bankcard") else self._evasive(term)
        template = rng.choice(TEMPLATES[category])
        head, _, tail = template.partition("<T>")
        text = (
            expand(head, {**ctx, "name": chinese_name(rng)}) + term + expand(tail, {**ctx, "name": chinese_name(rng)})
        )
        return Plant(text=text, labels=[category, "evasion"] if evasive else [category], terms=[term])

    def near_miss(self, expand, ctx: dict[str, str]) -> Plant:
        term, template = self.rng.choice(NEAR_MISSES)
        return Plant(text=expand(template, ctx), labels=[], terms=[term])
