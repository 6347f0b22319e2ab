"""A small Chinese phrase grammar for sales, service and internal chat, per industry.

Templates use ``{a|b|c}`` for a choice (``{a|}`` = optional) and ``<slot>`` for a value:
session slots (the product, the customer's form of address, …) stay the same through one
conversation so a thread reads coherently; the others (amounts, dates, times) are drawn
afresh. Nothing here contains a planted compliance term: those come only from ``plant``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

_CHOICE = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<(\w+)>")

PRODUCTS: dict[str, list[str]] = {
    "wealth": [
        "鑫享稳盈180天",
        "月月盈",
        "固收+2号",
        "沪深300指数基金",
        "养老目标2045",
        "增额终身寿",
        "三年期大额存单",
        "国债逆回购",
        "现金宝",
        "FOF稳健组合",
        "科创50ETF",
        "红利低波基金",
        "纯债6个月持有",
        "QDII美股基金",
    ],
    "retail": [
        "羽绒服",
        "保温杯",
        "扫地机器人",
        "空气炸锅",
        "儿童书包",
        "电动牙刷",
        "床上四件套",
        "跑步鞋",
        "破壁机",
        "会员年卡",
        "蓝牙耳机",
        "不粘锅",
        "羊毛围巾",
        "行李箱",
    ],
    "education": [
        "少儿编程",
        "雅思冲刺班",
        "初二数学提高班",
        "钢琴启蒙课",
        "考研政治",
        "英语口语外教课",
        "小学奥数",
        "美术素描班",
        "物理竞赛班",
        "公务员申论课",
    ],
    "service": ["会员账户", "订单", "发票", "退款", "积分", "快递", "APP登录", "优惠券", "合同", "安装预约"],
    "internal": ["季度报表", "客户回访表", "培训材料", "宣传海报", "周报", "系统账号", "报销单", "排班表", "合同模板"],
}

_CUSTOMER_FORMS = ["{s}先生", "{s}女士", "{s}总", "{s}姐", "{s}哥", "{s}老师", "亲"]
_SURNAME = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_WEEKDAYS = "一二三四五六日"
_CN_NUM = "一二三四五六七八九十"

ACKS = [
    "好的",
    "嗯嗯",
    "收到",
    "好的谢谢",
    "OK",
    "ok的",
    "好嘞",
    "明白",
    "行",
    "没问题",
    "[微笑]",
    "👌",
    "👍",
    "好的好的",
    "知道了",
    "谢谢啦",
    "[抱拳]",
    "嗯",
    "可以",
    "了解了",
]

GRAMMAR: dict[str, dict[str, list[str]]] = {
    "wealth": {
        "open_c": [
            "{<greet>，|}我想问下<product>现在还能买吗",
            "<me>{在吗|你好}，上次说的那个<product>{收益怎么样|风险大不大|起投金额多少|什么时候开放申购}",
            "{请问|}<product>这{个月|周}的净值怎么{跌了这么多|一直不涨}",
            "我有<amount>闲钱{想理财|想放一年左右|不知道买什么好}，{有什么推荐吗|你帮我看看}",
            "<me>，我那笔<product>{到期了吗|什么时候到期}？",
            "{早上好|你好}，我想{赎回|减仓}一部分<product>，怎么操作",
        ],
        "open_e": [
            "<cust>{您好|早上好|下午好}，我是{您的理财经理|<corp>的}<me>，{最近有一款|新发了一款}<product>，{业绩比较基准<rate>|期限<term>}，您有兴趣了解一下吗？",
            "<cust>您好，您{持有的|之前买的}<product><date>到期，{到期后资金会自动回到您的账户|需要帮您续投吗}？",
            "<cust>{您好|打扰了}，<date><time>我们在{网点|线上}有一场{资产配置|养老规划|市场展望}讲座，您方便参加吗？",
            "<cust>，{最近市场波动比较大|这周A股调整比较多}，{您的持仓我帮您看了一下|给您同步一下您的账户情况}",
        ],
        "ask": [
            "{那|}手续费{多少|怎么收}",
            "赎回要{几天|多久}到账",
            "{可以|能}提前{赎回|取出来}吗",
            "起投{金额|门槛}是多少",
            "风险等级是{多少|几级}",
            "和{银行定期|余额宝|大额存单}比哪个好",
            "{去年|过去一年}{收益|表现}怎么样",
            "要{带什么|准备哪些}{证件|材料}",
            "{这个|}是{你们|哪家}公司发行的",
            "{能|可以}分{几次|两次}买吗",
            "现在{买|入场}{合适吗|是不是高点}",
            "我{老婆|老公|父母}{也能买吗|能用我的账户吗}",
        ],
        "answer": [
            "<cust>{您好|}，<product>{起投|起购}金额是<amount>，业绩比较基准<rate>，过往业绩不代表未来表现",
            "这款是R<n>风险等级，{适合稳健型的客户|需要您先做一下风险测评}，{测评在APP里就能做|我把链接发您}",
            "赎回一般T+<n>到账，{遇到节假日顺延|具体以系统为准}",
            "申购费<fee>，持有满{一年|两年|<n>个月}免赎回费",
            "您看<date><time>方便吗？我{带您到网点办理|线上帮您预约}",
            "{最近|这段时间}市场波动{比较大|不小}，{建议分批买入|建议您不要频繁操作|可以考虑定投}",
            "{这款是|}{我们公司代销的|<corp>自营的}产品，{合同我稍后发您|产品说明书您可以先看一下}",
            "{资料|产品说明书|风险揭示书}我{发您了|稍后发您}，{您先看一下|有不清楚的地方随时问我}",
            "这个{要看您的风险承受能力|我帮您问一下产品经理}，{稍等|回头给您回复}",
        ],
        "react_c": [
            "{好的|行}，我{考虑一下|和家里商量下}",
            "{那|}我<date>{去网点|过去一趟}",
            "{行|好}，那先买<amount>试试",
            "{嗯|哦}，我{再看看|再想想}",
            "收益{有点低|还行}啊",
            "{好的|收到}，{谢谢<me>|辛苦了}",
            "{明白了|懂了}",
            "上次{买的|那个}<product>{亏了不少|还没回本}",
        ],
        "close_e": [
            "好的<cust>，{有问题随时联系我|有需要随时微信找我}",
            "{感谢您的信任|辛苦您了}[抱拳]",
            "好的，{办好了|已经帮您预约好了}，<date>{记得带身份证|我在网点等您}",
            "{不客气|应该的}，祝您{生活愉快|周末愉快}",
        ],
        "announce": [
            "【<group>】各位{家人们|朋友们}，<date><time>{直播|线上讲座}，主题「{<year>年资产配置|养老规划怎么做|基金定投的误区}」，{欢迎参加|记得准时进直播间}",
            "{今日|本周}市场点评：{沪指|创业板}{上涨|下跌}<pct>，{不必恐慌|保持耐心}，{有问题可以私聊我|需要调仓的私信我}",
        ],
    },
    "retail": {
        "open_c": [
            "{你好|在吗}，我{在你们店|上周}买的<product>{有点问题|尺码不合适|颜色发错了}",
            "<me>，<product>{还有货吗|什么时候补货|有没有活动}",
            "{请问|}我的订单{怎么还没发货|物流一直不动}，订单号<order>",
            "{上次|之前}说的<product>{优惠|满减}还有吗",
            "{你好|哈喽}，{会员积分|优惠券}怎么用啊",
        ],
        "open_e": [
            "<cust>{您好|亲}，我是{<corp>|门店}的<me>，<product>{今天到新款了|双十一预售开始了|会员价<price>}，{需要给您留一件吗|感兴趣可以来店里看看}",
            "<cust>，{您的|您在门店买的}<product>{已经到货|已经发出}了，{快递单号<order>|<date>可以来取}",
            "{亲|<cust>}，{本周末|<date>}门店{满<price>减<n>0|全场<n>折}，{给您说一声|老顾客还有小礼品}",
        ],
        "ask": [
            "{能|可以}{退|换}吗",
            "{有|还有}{别的颜色|大一码|小一码}吗",
            "{多少钱|现在什么价}",
            "{包邮吗|运费多少}",
            "{什么时候|几天}能到",
            "{能开发票吗|发票怎么开}",
            "{会员|老顾客}有{折扣|优惠}吗",
            "{质量|保修}怎么样",
            "{可以|能}{到付|分期}吗",
            "{尺码|型号}怎么选",
        ],
        "answer": [
            "{亲|<cust>}，{支持|可以}七天无理由{退换|退货}，{吊牌不要拆|保持商品完好}就行",
            "{现在|活动价}<price>，{会员再打九五折|满<price>包邮}",
            "{一般|正常}<n>天{左右|以内}到，{偏远地区会慢一点|我帮您催一下}",
            "{有的|还有货}，{我给您留一件|您看这个颜色可以吗}",
            "{发票|电子发票}{在订单页面申请|我帮您开好发给您}",
            "{保修|质保}{一年|两年}，{有问题直接找我|全国联保}",
            "{已经帮您登记了|我跟仓库确认一下}，{稍等|<time>前给您回复}",
        ],
        "react_c": [
            "{好的|行}，{那我要了|先帮我留着}",
            "{有点贵|太贵了}{啊|吧}，{能便宜点吗|再优惠点}",
            "{好的|那}我<date>{过去看看|来店里}",
            "{算了|那算了}，{我再看看|谢谢}",
            "{收到了|到货了}，{挺好的|质量不错}",
            "{嗯|好}，{麻烦了|谢谢}",
        ],
        "close_e": [
            "好的{亲|<cust>}，{有问题随时找我|欢迎下次光临}[玫瑰]",
            "{不客气|应该的}，{祝您购物愉快|用得好记得给个好评哦}",
            "{已经|都}{帮您处理好了|登记好了}，{请留意短信通知|有进展我第一时间告诉您}",
        ],
        "announce": [
            "【<group>】{家人们|宝宝们}，{今晚<time>|<date>}{直播秒杀|会员日}，<product>{只要<price>|买一送一}，{数量有限|先到先得}！",
            "{新品|爆款}<product>{到店了|补货了}，{群内下单|报群名}{再减<n>0元|送小礼品}",
        ],
    },
    "education": {
        "open_c": [
            "{老师好|您好}，{我家孩子|我儿子|我女儿}{<grade>|今年<grade>}，想了解一下<product>",
            "<me>老师，<product>{怎么收费|一期多少课时|什么时候开班}",
            "{老师|你好}，{孩子|我}<date>{有事|发烧了}，{课能请假吗|能不能调一下课}",
            "{请问|}{上次|昨天}的试听课{回放|作业}在哪里看",
        ],
        "open_e": [
            "<cust>{您好|家长您好}，我是<corp>的{课程顾问|班主任}<me>，{孩子|您}{上次|<date>}的试听课{反馈|表现}{挺好的|很积极}，{方便聊几句吗|跟您沟通一下}",
            "<cust>{您好|}，<product><date>开班，{还有<n>个名额|早鸟价截止到<date>}，{给您说一声|需要帮您锁定名额吗}",
            "{各位家长|<cust>}，{本周作业|<date>的课}{已经发布|调到<time>}，{请督促孩子按时完成|请相互转告}",
        ],
        "ask": [
            "{一共|一期}{多少|几}节课",
            "{学费|课时费}{多少|怎么算}",
            "{可以|能}{分期|先试听}吗",
            "{老师|外教}是{哪里的|什么背景}",
            "{线上|线下}上课吗",
            "{退费|转班}怎么{弄|算}",
            "{班里|一个班}几个{孩子|学生}",
            "{教材|资料}要{另外|单独}买吗",
            "{孩子|他}{基础比较差|跟得上吗}",
        ],
        "answer": [
            "<product>{一期|一共}<n>0课时，{每周两次|每次<n>0分钟}，{学费|费用}<price>",
            "{支持|可以}{分期|先试听一节}，{不满意|不合适}可以{退|不报}",
            "{我们是|都是}{小班|<n>人小班}授课，{老师|授课老师}{都有教师资格证|平均教龄<n>年}",
            "{退费|转班}{按剩余课时|按合同}{计算|办理}，{我把合同条款发您|具体您看一下合同第五条}",
            "{教材|资料}{包含在学费里|开课前快递给您}",
            "{可以|没问题}，{先做个摸底测试|我让老师评估一下孩子的水平}",
        ],
        "react_c": [
            "{好的|嗯}，{我跟孩子商量一下|回头给您答复}",
            "{有点贵|费用有点高}{啊|}，{有优惠吗|能便宜点吗}",
            "{行|好}，那{先报一期试试|帮我报名吧}",
            "{谢谢老师|辛苦老师了}[抱拳]",
            "{孩子说挺喜欢的|孩子觉得有点难}",
        ],
        "close_e": [
            "{不客气|应该的}，{有问题随时问我|孩子的学习情况我会及时和您沟通}",
            "好的<cust>，{报名链接发您了|名额帮您锁定了}，{付款后截图给我|记得<date>前完成缴费}",
            "{好的|收到}，{祝孩子学习进步|<date>课上见}！",
        ],
        "announce": [
            "【<group>】各位家长{好|晚上好}，{今日作业|本周学习报告}已{发布|上传}，{请督促孩子<date>前提交|有问题随时私聊老师}",
            "{通知|温馨提示}：<date>{放假|调课}，{课程顺延|补课时间另行通知}，{请相互转告|收到请回复}",
        ],
    },
    "service": {
        "open_c": [
            "{你好|在吗}，我的<product>{有问题|出错了|一直显示异常}",
            "{客服|你好}，我{申请的|要的}<product>{怎么还没处理|什么时候能好}",
            "{请问|}<product>{怎么弄|在哪里操作|要多久}",
            "{我要投诉|太慢了吧}，{都<n>天了|等了好久}还没{处理|回复}",
        ],
        "open_e": [
            "<cust>{您好|}，我是{客服|售后}<me>，{您反馈的|关于您的}<product>问题{已经登记|正在处理}，工单号<ticket>",
            "<cust>您好，{您的|您申请的}<product>{已经处理完成|已经审核通过}，{请查收|麻烦您确认一下}",
        ],
        "ask": [
            "{要多久|多久能好}",
            "{需要|要}我{提供什么|做什么}",
            "{能|可以}{加急|快点}吗",
            "{工单号|单号}是多少",
            "{还要|又要}{等|排队}吗",
            "{找谁|联系谁}{处理|比较快}",
        ],
        "answer": [
            "{已经|}帮您{提交|催办}了，工单号<ticket>，{预计|一般}<n>个工作日{内处理|内回复}",
            "{麻烦|请}您提供一下{订单截图|手机号后四位|注册时间}，{我这边核实一下|方便查询}",
            "{非常抱歉|抱歉}给您带来不便，{我已经反馈给相关部门|我们会尽快处理}",
            "{您可以|麻烦您}{在APP里|在我的-设置里}{重新登录一下|清一下缓存}试试",
        ],
        "react_c": ["{好吧|好的}，{尽快啊|那我等着}", "{还是不行|试了没用}", "{好了|可以了}，{谢谢|辛苦}", "{行|嗯}"],
        "close_e": [
            "{不客气|应该的}，{还有其他问题吗|有问题随时联系}",
            "{好的|感谢您的理解}，{祝您生活愉快|稍后可能有满意度评价，麻烦给个好评}[玫瑰]",
        ],
        "announce": [
            "【<group>】{系统|APP}将于<date><time>{升级维护|停机维护}约<n>小时，{给您带来不便敬请谅解|期间暂停服务}"
        ],
    },
    "internal": {
        "open_c": [
            "<me>，{周报|日报}记得{今天|明天中午前}交",
            "<date>的{例会|培训|周会}改到<time>了，{在<room>|线上开}",
            "{这个客户的|<cust>的}资料{发我一下|帮我查一下|在共享盘吗}",
            "合规那边说{这条话术不能用|宣传材料要先审核|<product>要重新走流程}",
            "{报销单|请假单}{签了吗|我放你桌上了|走到哪了}",
            "{系统|CRM|OA}{又卡了|登录不上|打不开}，{谁知道怎么回事|@IT帮忙看下}",
            "<me>{在吗|有空吗}，{问你个事|<product>你那边有最新版吗}",
            "{这个月|本季度}{业绩|指标}还差<amount>，{大家加把劲|冲一冲}",
            "{中午|晚上}{一起吃饭吗|订外卖吗}",
            "{客户|<cust>}{投诉了|又来问了}，{你跟进一下|怎么回复比较好}",
        ],
        "open_e": [
            "{各位|大家}注意，<date>{上午|下午}{合规培训|消防演练|全员大会}，{必须参加|请准时}",
            "{<product>|会议纪要}{已经更新|发到群里了}，{大家看一下|有问题提出来}",
        ],
        "ask": [
            "{几点|什么时候}",
            "{在哪|哪个会议室}",
            "{要|需要}{准备什么|带电脑吗}",
            "{谁负责|找谁}",
            "{发我|给我}一份？",
            "{今天|明天}{能|可以}弄完吗",
            "{模板|格式}是哪个",
        ],
        "answer": [
            "{好的|收到}，{马上|稍后}{发你|弄}",
            "{在|去}<room>",
            "{我|这边}{问一下|确认下}再{回你|告诉你}",
            "{已经|}{发你邮箱了|放共享盘了}",
            "{找|问}{<me>|行政|合规}{就行|比较清楚}",
            "{今天|明天}{能|可以}{弄完|给你}",
        ],
        "react_c": ["{好|OK}", "{收到|好的}", "{谢了|谢谢}", "{辛苦|辛苦了}", "[强]", "{行|好的}，{知道了|明白}"],
        "close_e": ["{好的|嗯嗯}", "{不客气|没事}", "{有事|有问题}再{说|找我}"],
        "announce": [
            "【通知】<date><time>{全员大会|部门例会|合规培训}，{请准时参加|地点<room>}",
            "{本周|本月}{业绩|KPI}{排名|通报}已发，{大家看一下|继续加油}💪",
        ],
    },
}

_ANSWER_LEADS = [
    "<cust>，",
    "嗯嗯，",
    "是的，",
    "{您好|你好}，",
    "亲，",
    "这个呀，",
    "{跟您说一下|我跟您解释下}，",
    "{好的|明白}，",
]
_ASK_LEADS = ["对了，", "那个，", "{请问|想问下}", "还有，", "哦对，", "<me>，", "{我想知道|问一下}"]
_TAILS = ["哈", "~", "哦", "呢", "。", "！", "[微笑]", "🙏"]

GREETINGS = ["你好", "您好", "在吗", "哈喽", "早上好", "下午好", "打扰一下", "不好意思打扰了"]
_GRADES = ["一年级", "三年级", "五年级", "初一", "初二", "初三", "高一", "高二"]
_ROOMS = ["3楼大会议室", "1号会议室", "12楼培训室", "腾讯会议", "总部B座"]


def _amount(rng: random.Random) -> str:
    return rng.choice(
        [
            "5万",
            "10万",
            "20万",
            "30万",
            "50万",
            "100万",
            "8万",
            "15万",
            "2万块",
            "三十万",
            "一百万",
            f"{rng.randint(1, 99) * 1000}元",
            f"{rng.randint(2, 60)}万",
        ]
    )


def _date(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(["明天", "后天", "今天", "下周", "这周末", "月底", "节后"])
    if roll < 0.6:
        return rng.choice(["周", "下周", "这周"]) + rng.choice(_WEEKDAYS)
    return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}{rng.choice(['号', '日'])}"


def _time(rng: random.Random) -> str:
    half = rng.choice(["", "", "半", ":30", ":15"])
    h = rng.randint(8, 20)
    if half in (":30", ":15"):
        return f"{h}{half}"
    prefix = "上午" if h < 12 else ("下午" if h < 18 else "晚上")
    hh = h if h <= 12 else h - 12
    return f"{prefix}{_CN_NUM[hh - 1] if hh <= 10 and rng.random() < 0.5 else hh}点{half}"


def _order_number(rng: random.Random) -> str:
    """12 digits that contain no phone-number-like run (1[3-9]…), so order numbers never look planted."""
    while True:
        digits = str(rng.randint(8 * 10**11, 10**12 - 1))
        if not re.search("1[3-9]", digits):
            return rng.choice(["DD", "JD", "SF", ""]) + digits


SLOT_FUNCS: dict[str, Callable[[random.Random], str]] = {
    "amount": _amount,
    "date": _date,
    "time": _time,
    "rate": lambda r: f"{r.uniform(1.6, 5.2):.2f}%",
    "pct": lambda r: f"{r.uniform(0.1, 3.5):.2f}%",
    "fee": lambda r: r.choice(["0.15%", "1.2%", "0.6%", "免费", "一折"]),
    "term": lambda r: r.choice(["90天", "180天", "一年", "三年", "6个月"]),
    "n": lambda r: str(r.randint(2, 9)),
    "price": lambda r: (
        f"{r.choice([39, 59, 99, 129, 199, 299, 399, 599, 899, 1299, 2999, 4880])}{r.choice(['元', '块', ''])}"
    ),
    "order": lambda r: _order_number(r),
    "ticket": lambda r: f"GD{r.randint(2024, 2026)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(1000, 9999)}",
    "grade": lambda r: r.choice(_GRADES),
    "room": lambda r: r.choice(_ROOMS),
    "year": lambda r: str(r.choice([2026, 2027])),
    "greet": lambda r: r.choice(GREETINGS),
}


def customer_form(rng: random.Random) -> str:
    return rng.choice(_CUSTOMER_FORMS).format(s=rng.choice(_SURNAME))


def self_form(rng: random.Random, name: str) -> str:
    """How an employee is addressed: 小王, 王经理, 李老师, or the given name."""
    surname, given = name[0], name[1:] or name
    return rng.choice([f"小{surname}", f"{surname}经理", f"{surname}老师", given, name])


class PhraseMaker:
    """Expands the grammar with a seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def expand(self, template: str, ctx: dict[str, str]) -> str:
        rng = self.rng
        while "{" in template:
            template = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)

        def slot(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in ctx:
                return ctx[key]
            return SLOT_FUNCS[key](rng)

        return _SLOT.sub(slot, template)

    def say(self, industry: str, move: str, ctx: dict[str, str]) -> str:
        table = GRAMMAR.get(industry) or GRAMMAR["internal"]
        options = table.get(move) or GRAMMAR["internal"][move]
        rng = self.rng
        text = self.expand(rng.choice(options), ctx)
        if move in ("react_c", "close_e") and rng.random() < 0.25:
            return rng.choice(ACKS)
        # People vary how they lead in and trail off; it keeps stock replies from repeating verbatim.
        if move in ("answer", "ask") and rng.random() < 0.4:
            lead = _ANSWER_LEADS if move == "answer" else _ASK_LEADS
            text = self.expand(rng.choice(lead), ctx) + text
        if rng.random() < 0.15 and text[-1] not in "？?！!。~":
            text += rng.choice(_TAILS)
        return text

    def ack(self) -> str:
        return self.rng.choice(ACKS)

    def session_context(self, industry: str, employee_name: str, corp: str, group: str = "") -> dict[str, str]:
        rng = self.rng
        return {
            "product": rng.choice(PRODUCTS.get(industry) or PRODUCTS["internal"]),
            "cust": customer_form(rng),
            "me": self_form(rng, employee_name),
            "corp": corp,
            "group": group,
        }
