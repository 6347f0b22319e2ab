"""Message text is text: quotes, links and images in a message are shown as written, never rendered."""

from __future__ import annotations

import html
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import Message
from dashboard import _ui, viewer
from dashboard._text import text_html
from tests.dashboard.helpers import markdown, no_traceback, open_page

# A quoted reply (WeCom's "------" separator), an image, a link, emphasis, a heading, a table, math.
ADVERSARIAL = (
    "「张伟：原文」\n\n------\n![](http://x.example/p.png) [点我](http://x.example) **好处费** # 标题 | a | $x$"
)
MARKDOWN_ACTIVE = re.compile(r"[\\`*_{}\[\]()#+\-.!|~=:/@$%^]")
TAGS = re.compile(r"<br>|</?mark>")


def shown_text(fragment: str) -> str:
    """What a reader sees: line breaks back, tags gone, character references decoded."""
    return html.unescape(TAGS.sub("", fragment.replace("<br>", "\n")))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-=*_#>![]()`|~:$<&\"' \naz回扣\t.+/@%^{}\\")), max_size=40))
def test_text_html_leaves_nothing_markdown_or_html_can_parse(text: str) -> None:
    """GIVEN any text made of Markdown and HTML punctuation, line breaks and words
    WHEN it becomes HTML for the dashboard
    THEN no raw Markdown punctuation, no tag but <br> and no blank line remain, and the reader
    sees exactly the text (a line break as a line break)"""
    out = text_html(text)
    assert not MARKDOWN_ACTIVE.search(re.sub(r"&#?\w+;", "", TAGS.sub("", out)))
    assert "<" not in TAGS.sub("", out) and "\n" not in out
    assert shown_text(out) == text.replace("\r", "")


def _message(text: str) -> Message:
    return Message(
        msgid="m1",
        seq=1,
        action="send",
        msgtype="text",
        time_ms=1_767_225_600_000,
        sender="zhangwei",
        sender_kind="employee",
        receivers=["x"],
        roomid="",
        chat_id="x|zhangwei",
        chat_kind="external",
        text=text,
        raw="{}",
    )


def test_every_message_renderer_shows_the_adversarial_text_literally() -> None:
    """GIVEN a message with a quote separator, an image, a link, emphasis and a heading
    WHEN the viewer's bubbles, the violation marks and the search highlight render it
    THEN each fragment shows the text exactly and holds no Markdown or image syntax"""
    start = ADVERSARIAL.index("好处费")
    fragments = [
        viewer.message_html(_message(ADVERSARIAL), [], viewer.ViewOptions(me="zhangwei"), "Asia/Shanghai"),
        _ui.mark_spans(ADVERSARIAL, [(start, start + 3)]),
        _ui.safe_highlight(html.escape(ADVERSARIAL).replace("好处费", "<mark>好处费</mark>")),
    ]
    for fragment in fragments:
        assert "------" not in fragment and "![" not in fragment and "](" not in fragment and "**" not in fragment
        assert ADVERSARIAL in shown_text(re.sub(r"<(?!br>|/?mark>)[^>]*>", "", fragment))


def test_the_live_test_shows_quotes_and_images_as_written(dash_archive) -> None:
    """GIVEN the rule editor's live test
    WHEN the sample text holds a quote separator and an image link around a hit
    THEN the page's Markdown carries them as literal text (no heading, no image is rendered)"""
    at = open_page("ruler", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value("__new__").run()
    at.text_input(key="name___new__").input("文本测试")
    at.text_area(key="kw___new__").input("好处费")
    at.text_area(key="lt_text").input(ADVERSARIAL).run()
    no_traceback(at)
    shown = markdown(at)
    assert "<mark>好处费</mark>" in shown
    assert "------" not in shown and "![](" not in shown and "http://x" not in shown
    assert ADVERSARIAL in shown_text(re.sub(r"<style>.*?</style>", "", shown, flags=re.DOTALL))


def test_a_catastrophic_regex_in_the_live_test_answers_at_once(dash_archive) -> None:
    """GIVEN the rule editor typing a regex that backtracks exponentially in Python's re
    WHEN it is live-tested on a 40-character adversarial text (the page run has a 60 s timeout;
    Python's re would need hours)
    THEN the page answers "no match" without an error"""
    at = open_page("ruler", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value("__new__").run()
    at.text_input(key="name___new__").input("灾难正则")
    at.text_area(key="re___new__").input("(a|aa)+b")
    at.text_area(key="lt_text").input("a" * 40).run()
    no_traceback(at)
    assert any("未命中" in str(i.value) for i in at.info)


def test_a_file_name_from_a_message_is_shown_literally_in_the_media_list(tmp_path: Path) -> None:
    """GIVEN a file message whose name holds Markdown (an image and emphasis), not fetched yet
    WHEN the media list of the viewer shows it
    THEN the caption carries the name as inert text and the page raises nothing"""
    from streamlit.testing.v1 import AppTest

    def app(data: str) -> None:
        # AppTest runs this function's source as a script of its own: its imports must be inside.
        from chatarchive.archive import Archive
        from core.models import MediaRef, Message
        from dashboard._media import show_media

        hostile = MediaRef(sdkfileid="sdk-1", ext="pdf", name="![](http://x.example/a.png)**合同**.pdf")
        message = Message(
            msgid="f1",
            seq=1,
            action="send",
            msgtype="file",
            time_ms=1_767_225_600_000,
            sender="zhangwei",
            sender_kind="employee",
            receivers=["x"],
            roomid="",
            chat_id="x|zhangwei",
            chat_kind="external",
            text="",
            raw="{}",
            media=[hostile],
        )
        archive = Archive.open(data=data)
        try:
            show_media(archive, [message])
        finally:
            archive.close()

    at = AppTest.from_function(app, args=(str(tmp_path / "data"),), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [caption] = [str(c.value) for c in at.caption]
    assert "![](" not in caption and "**" not in caption
    assert "![](http://x.example/a.png)**合同**.pdf" in html.unescape(caption)
