"""The chat viewer: sides, names and avatars, every msgtype as a card or thumbnail, undecodable media,
quotes, revokes, the customer panel and paging through the whole conversation."""

from __future__ import annotations

import html
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.models import Message, MessageFilter, Scope
from dashboard import _chat_cards, _customer_panel, viewer
from tests.dashboard.conftest import EVERY_TYPE_OBJECTS, NOTICE_GROUP, QIAN, ZHOU
from tests.dashboard.helpers import markdown, no_traceback, open_page

ALL = Scope.everything()
ROW = re.compile(
    r'<div class="ca-row( me)?"><div class="ca-avatar"[^>]*>[^<]*</div><div class="ca-col">'
    r'<div class="ca-name">([^<]*)</div>'
)


def open_chat(employee: str, kind: str, chat: str | None = None) -> AppTest:
    at = open_page("admin", "pages/conversations.py")
    at.radio(key="emp_pick").set_value(employee).run()
    if chat is not None:
        at.radio(key=f"pick_{kind}").set_value(chat).run()
    at.button(key=f"open_{kind}").click().run()
    at.text_input(key="conv_reason").input("合规抽查 viewer").run()
    no_traceback(at)
    return at


def stored(dash_archive, chat_id: str) -> list[Message]:
    arch = dash_archive.archive()
    try:
        return arch.store.list_messages(MessageFilter(chats=[chat_id]), scope=ALL, sort="time_asc", limit=10_000)[1]
    finally:
        arch.close()


def test_every_msgtype_shows_as_a_card_or_a_thumbnail(dash_archive) -> None:
    """GIVEN 周杰's chat with 周梅 holding one message of every msgtype WHEN it opens THEN each non-image type
    shows as a card titled with its Chinese name, the sticker as an inline thumbnail, the undecodable image as a
    placeholder with the reason, and the fetched file with a download button; no exception."""
    at = open_chat("zhoujie", "external")
    page = markdown(at)
    for msgtype in EVERY_TYPE_OBJECTS:
        if msgtype not in ("image", "emotion", "markdown"):  # markdown is text, shown escaped
            assert f"[{_chat_cards.type_name(msgtype)}]" in page, msgtype
    assert '<img class="ca-thumb" src="data:image/png;base64,' in page  # the sticker
    assert "[image.jpg] 图片无法解码 (UnidentifiedImageError)" in html.unescape(page)  # names are escaped text
    assert "等待下载" in page  # voice/video not fetched yet
    assert sorted(b.label for b in at.get("download_button")) == [
        "下载 emotion.png",
        "下载 image.jpg",
        "下载 季度报告.pdf",
    ]
    assert "**今日提醒** 注意风险" in html.unescape(page) and "**今日提醒**" not in page  # shown as written, inert
    text = html.unescape(page)  # what the reader sees: "." and ":" arrive as character references
    for shown in ("季度报告.pdf", "1分15秒", "¥8.88", "外滩营业部", "理财助手", "转发的第一句", "周五前提交材料"):
        assert shown in text, shown


def test_the_selected_employee_is_right_and_everyone_else_left(dash_archive) -> None:
    """GIVEN the chat of 周杰 and 周梅 THEN every bubble of 周杰 is on the right and every bubble of 周梅 on the
    left, each with its name; quote, revoke and consent records read as in WeChat."""
    at = open_chat("zhoujie", "external")
    page = markdown(at)
    rows = ROW.findall(page)
    assert rows and {name for me, name in rows if me} == {"周杰"} and {name for me, name in rows if not me} == {"周梅"}
    assert sum(1 for m in stored(dash_archive, f"{ZHOU}|zhoujie") if m.msgtype not in viewer.NOTICE_TYPES) == len(rows)
    assert '<div class="ca-quote">周梅：上次说的产品还有吗</div>有的，我发资料给您' in page
    assert "已撤回" in page and "周杰 撤回了一条消息" in page
    assert "周梅 同意存档会话内容" in page and "周梅 不同意存档会话内容" in page


def test_an_internal_chat_puts_only_the_selected_employee_right(dash_archive) -> None:
    """GIVEN 张伟's internal chat with 李娜 THEN 张伟 is right and 李娜, also an employee, is left."""
    at = open_chat("zhangwei", "internal")
    rows = ROW.findall(markdown(at))
    assert {name for me, name in rows if me} == {"张伟"} and {name for me, name in rows if not me} == {"李娜"}


def test_a_robot_is_shown_by_its_name(dash_archive) -> None:
    """GIVEN the internal notice group with a robot's post THEN the robot appears by name, never as its id."""
    at = open_chat("zhoujie", "group", NOTICE_GROUP)
    page = markdown(at)
    assert '<div class="ca-name">日报机器人</div>' in page and "wbRobot" not in page


def test_the_customer_panel_shows_the_directory_details(dash_archive) -> None:
    """GIVEN 周梅 in the directory WHEN her chat opens THEN ④ shows name, type, corp, follower, remark, add
    time, consent (her newest record: disagree) and tags."""
    # Shown text is escaped for HTML and Markdown (dashboard/_text.py): "-" and ":" arrive as entities.
    page = html.unescape(markdown(open_chat("zhoujie", "external")))
    for label, value in (
        ("名称", "周梅"),
        ("类型", "企业微信用户"),
        ("企业", "周氏贸易"),
        ("跟进人", "周杰"),
        ("备注", "周总"),
        ("存档同意", "不同意存档"),
        ("标签", "高净值"),
        ("添加时间", "2026-01-02 08:00:00"),
    ):
        assert f"<span>{label}</span>{value}" in page, label


def test_paging_goes_through_the_whole_conversation(dash_archive, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN pages of 10 messages WHEN every page of 李娜's chat with 钱多多 is opened THEN together they show
    every stored message once, in time order, and the viewer opens on the newest page."""
    monkeypatch.setattr(viewer, "PAGE_SIZE", 10)
    messages = stored(dash_archive, f"lina|{QIAN}")
    at = open_chat("lina", "external")
    pages = -(-len(messages) // 10)
    key = f"conv_lina|{QIAN}_page"
    assert at.number_input(key=key).value == pages
    seen: list[str] = []
    for page in range(1, pages + 1):
        at.number_input(key=key).set_value(page).run()
        seen.extend(re.findall(r'<div class="ca-meta">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)', markdown(at)))
    from dashboard._ui import fmt_time

    assert seen == [fmt_time(m.time_ms, "Asia/Shanghai") for m in messages]


def test_customers_page_pages_instead_of_cutting_at_100(dash_archive, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN pages of 10 WHEN 钱多多's chat opens on the customer page THEN a page picker covers all of it."""
    monkeypatch.setattr(viewer, "PAGE_SIZE", 10)
    total = len(stored(dash_archive, f"lina|{QIAN}"))
    at = open_page("admin", "pages/customers.py")
    at.selectbox(key="c_pick").set_value(QIAN).run()
    at.text_input(key="c_reason").input("投诉核查 #7").run()
    no_traceback(at)
    assert f"共 {-(-total // 10)} 页, {total} 条" in str(at.number_input(key=f"c_lina|{QIAN}_page").label)
    assert "<span>名称</span>钱多多" in markdown(at)


def test_message_text_is_escaped_never_markup() -> None:
    """GIVEN text with HTML and Markdown THEN the bubble holds it escaped, as written."""
    m = Message(
        msgid="x",
        seq=1,
        action="send",
        msgtype="text",
        time_ms=0,
        sender="a",
        sender_kind="employee",
        receivers=["b"],
        roomid="",
        chat_id="a|b",
        chat_kind="internal",
        text="<img src=x onerror=alert(1)> **bold** [a](javascript:x)",
        raw="",
    )
    shown = viewer.message_html(m, [], viewer.ViewOptions(), "Asia/Shanghai")
    assert "&lt;img" in shown and "<img" not in shown
    assert "**" not in shown and "](" not in shown  # Markdown is inert too (dashboard/_text.py)
    assert "<img src=x onerror=alert(1)> **bold** [a](javascript:x)" in html.unescape(shown)


def test_quotes_parse_and_cards_read_their_fields() -> None:
    quote = _chat_cards.parse_quote('这是一条引用/回复消息：\n"张三:\n第一行\n第二行"\n------\n回复')
    assert quote == _chat_cards.Quote("张三", "第一行\n第二行", "回复")
    assert _chat_cards.parse_quote("普通消息") is None
    assert _chat_cards.parse_quote("这是一条引用/回复消息：但格式不对") is None


def test_followers_are_read_in_both_directory_shapes() -> None:
    """GIVEN userids (simulator) or WeCom follow_user objects THEN both give followers with remark and tags."""
    plain = _customer_panel.followers_of({"followers": ["zhangwei"]})
    assert plain == [_customer_panel.Follower("zhangwei", "", 0, [])]
    synced = _customer_panel.followers_of(
        {
            "follow_user": [
                {"userid": "lina", "remark": "王总", "createtime": 1_700_000_000, "tags": [{"tag_name": "VIP"}]}
            ]
        }
    )
    assert synced == [_customer_panel.Follower("lina", "王总", 1_700_000_000_000, ["VIP"])]


def test_undecodable_and_missing_files_are_placeholders(tmp_path) -> None:
    """GIVEN an image file of noise and a missing file THEN thumbnail() gives a reason, never raises."""
    from dashboard._chat_media import thumbnail

    noise = tmp_path / "x.jpg"
    noise.write_bytes(b"\xff\xd8\xff\xe0" + bytes(300))
    assert thumbnail(noise) == ("", "图片无法解码 (UnidentifiedImageError)")
    assert thumbnail(tmp_path / "gone.jpg")[1].startswith("文件无法读取")
