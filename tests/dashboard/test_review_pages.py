"""The conversation viewer, customers, violations with the review workflow, and sampling."""

from __future__ import annotations

from datetime import date

from compliance import audit
from core.models import Scope, ViolationFilter
from tests.dashboard.helpers import markdown, no_traceback, open_page, texts

ALL = Scope.everything()


def test_conversation_viewer_shows_figures_chats_and_the_conversation_after_a_reason(dash_archive) -> None:
    """GIVEN 张伟 WHEN an auditor opens his external chat with a reason THEN the seeds' figures, the
    chat list by kind and the conversation (day separators, revoked mark, highlighted violation) show."""
    at = open_page("admin", "pages/conversations.py")
    at.radio(key="emp_pick").set_value("zhangwei").run()
    no_traceback(at)
    shown = texts(at)
    assert "总会话消息数=" in shown and "违规次数=" in shown
    figures = {m.label: m.value for m in at.metric}
    assert figures["客户私聊会话数"] == "1" and figures["客户群总数"] == "1" and figures["客户总数"] == "2"
    at.button(key="open_external").click().run()
    assert "请填写查看理由" in texts(at)
    at.text_input(key="conv_reason").input("季度抽查").run()
    no_traceback(at)
    html = markdown(at)
    assert "— 2026-01-05 —" in html and "— 2026-01-06 —" in html
    assert "已撤回" in html
    assert "<mark>私下转账</mark>" in html and "ca-bubble flagged" in html


def test_employees_who_left_are_listed_as_read_only(dash_archive) -> None:
    at = open_page("admin", "pages/conversations.py")
    at.radio(key="emp_status").set_value("曾归档").run()
    assert at.radio(key="emp_pick").options == ["王强 · 曾归档"]
    assert "员工只读模式" in texts(at)


def test_employee_search_box_with_no_match_says_so(dash_archive) -> None:
    at = open_page("admin", "pages/conversations.py")
    at.text_input(key="emp_find").input("不存在的人").run()
    no_traceback(at)
    assert "没有符合条件的员工" in texts(at)


def test_a_scoped_auditor_lists_only_employees_in_scope(dash_archive) -> None:
    at = open_page("auditor-cs", "pages/conversations.py")
    assert at.radio(key="emp_pick").options == ["李娜 · 归档中"]


def test_customer_list_shows_followers_and_last_conversation(dash_archive) -> None:
    at = open_page("admin", "pages/customers.py")
    no_traceback(at)
    table = at.dataframe[0].value
    assert set(table["客户名称"]) == {"赵鑫", "钱多多", "孙丽", "周梅"}
    sun = table[table["客户名称"] == "孙丽"].iloc[0]
    assert sun["当前跟进人数"] == 1 and sun["非当前跟进人数"] == 1 and sun["跟进人"] == "王强, 张伟"  # 王强 left


def test_violation_review_records_evidence_and_a_false_positive_becomes_an_exception(dash_archive) -> None:
    """GIVEN the unreviewed queue WHEN a reviewer marks a hit false positive with a comment and adds the
    exception THEN the violation, a review record, the audit trail and a new rule version say so."""
    at = open_page("admin", "pages/violations.py")
    no_traceback(at)
    assert "共 5 条违规" in texts(at)
    options = at.selectbox(key="v_pick").options
    at.selectbox(key="v_pick").select_index(next(i for i, o in enumerate(options) if "张伟 · 承诺收益" in o)).run()
    at.radio(key="r_status").set_value("false_positive")
    at.button(key="FormSubmitter:review-提交审核").click().run()
    assert any("必须填写意见" in str(w.value) for w in at.warning)  # a false positive needs a reason
    at.radio(key="r_status").set_value("false_positive")
    at.text_area(key="r_comment").input("客户原话引用，不是承诺")
    at.button(key="FormSubmitter:review-提交审核").click().run()
    no_traceback(at)
    assert any("误报" in str(s.value) for s in at.success)
    phrase = next(t for t in at.text_input if str(t.key).startswith("exc_phrase_"))
    assert "保证收益" in phrase.value and phrase.value != "保证收益"  # from the matched text, and longer
    phrase.input("保证收益，年化").run()
    assert at.button(key="add_exception").disabled  # not before its preview
    at.button(key="preview_exception").click().run()
    # The phrase covers exactly one archived hit of the rule: the reviewed message itself.
    assert any("内将不再报警 1 条，新增 0 条" in str(i.value) for i in at.info)
    assert "<mark>保证收益</mark>，年化百分之六" in markdown(at)
    at.button(key="add_exception").click().run()
    no_traceback(at)
    assert any("已加入规则例外" in str(s.value) for s in at.success)
    arch = dash_archive.archive()
    try:
        _, fps = arch.store.list_violations(ViolationFilter(statuses=["false_positive"]), scope=ALL)
        assert len(fps) == 1 and fps[0].reviewer == "admin"
        reviews = arch.store.find_records("reviews", {"target": fps[0].id})
        assert reviews and reviews[0]["status"] == "false_positive"
        assert audit.list_entries(arch.store, action="review")[0]["target"] == fps[0].id
        from compliance.rulestore import get_rule

        rule = get_rule(arch.store, fps[0].rule_id)
        assert rule.version == 2 and "保证收益，年化" in rule.allow
    finally:
        arch.close()


def test_violation_context_highlights_the_matched_terms(dash_archive) -> None:
    at = open_page("admin", "pages/violations.py")
    at.multiselect(key="v_status").set_value([]).run()
    at.text_input(key="v_reason").input("复核").run()
    at.toggle(key="v_ctx").set_value(True).run()
    no_traceback(at)
    assert "ca-bubble hit" in markdown(at) and "<mark>" in markdown(at)


def test_violation_filters_with_no_match_show_an_empty_state(dash_archive) -> None:
    at = open_page("admin", "pages/violations.py")
    at.multiselect(key="v_sev").set_value(["low"]).run()
    no_traceback(at)
    assert "没有符合条件的违规" in texts(at)


def test_sampling_draws_a_reproducible_sample_and_records_reviews(dash_archive) -> None:
    """GIVEN January's unflagged conversations WHEN two draws use the same seed THEN they hold the same
    conversations, and a review of one is stored as evidence."""
    drawn = []
    for _ in range(2):
        at = open_page("auditor-all", "pages/sampling.py")
        at.date_input(key="s_from").set_value(date(2026, 1, 1))
        at.date_input(key="s_to").set_value(date(2026, 1, 31))
        at.multiselect(key="s_dept").set_value([1])
        at.number_input(key="s_pct").set_value(50.0)
        at.button(key="FormSubmitter:draw-抽样").click().run()
        no_traceback(at)
        drawn.append(list(at.dataframe[0].value["会话"]))
    assert drawn[0] == drawn[1] and drawn[0]
    at.text_area(key="s_comment").input("沟通正常")
    at.button(key="FormSubmitter:s_review-提交审核").click().run()
    no_traceback(at)
    arch = dash_archive.archive()
    try:
        assert arch.store.find_records("reviews", {"kind": "sample"})
    finally:
        arch.close()


def test_a_fetched_image_is_shown_inline_in_the_conversation(dash_archive) -> None:
    """GIVEN the image message's media fetched into DATA/media WHEN its conversation opens THEN it shows inline."""
    import hashlib

    from indexer.media import media_id
    from tests.dashboard.conftest import STICKER_PNG as png  # a real PNG that Pillow decodes

    digest = hashlib.sha256(png).hexdigest()
    path = dash_archive.data / "media" / digest[:2] / f"{digest}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    arch = dash_archive.archive()
    try:
        arch.store.put_record(
            "media",
            media_id("sdkfile-image-1"),
            {
                "sdkfileid": "sdkfile-image-1",
                "msgid": "img0001",
                "ext": "png",
                "status": "done",
                "path": str(path.relative_to(dash_archive.data / "media")),
            },
        )
    finally:
        arch.close()
    at = open_page("admin", "pages/conversations.py")
    at.radio(key="emp_pick").set_value("zhangwei").run()
    at.button(key="open_external").click().run()
    at.text_input(key="conv_reason").input("核对图片").run()
    no_traceback(at)
    assert '<img class="ca-thumb" src="data:image/png;base64,' in markdown(at)  # inline, in its bubble


def test_a_sampled_conversation_reviewed_as_no_issue_is_listed_as_no_issue(dash_archive) -> None:
    """GIVEN a drawn sample WHEN its first conversation is reviewed as 无问题 THEN the list shows 无问题 at
    once (never 确认违规), the stored item says no_issue and an issue without a comment is refused."""
    at = open_page("auditor-all", "pages/sampling.py")
    at.date_input(key="s_from").set_value(date(2026, 1, 1))
    at.date_input(key="s_to").set_value(date(2026, 1, 31))
    at.multiselect(key="s_dept").set_value([1])
    at.number_input(key="s_pct").set_value(50.0)
    at.button(key="FormSubmitter:draw-抽样").click().run()  # an earlier sample: the new one must replace it
    at.number_input(key="s_pct").set_value(100.0)
    at.number_input(key="s_seed").set_value(7)
    at.button(key="FormSubmitter:draw-抽样").click().run()
    chat_id = at.selectbox(key="s_chat").value
    at.radio(key="s_rstatus").set_value("issue_found")
    at.button(key="FormSubmitter:s_review-提交审核").click().run()
    assert any("必须填写意见" in str(w.value) for w in at.warning)
    at.radio(key="s_rstatus").set_value("no_issue")
    at.button(key="FormSubmitter:s_review-提交审核").click().run()
    no_traceback(at)
    table = at.dataframe[0].value
    assert list(table["状态"]).count("无问题") == 1 and "确认违规" not in set(table["状态"])
    assert "已记录审核结论: 无问题" in texts(at)
    arch = dash_archive.archive()
    try:
        sample = arch.store.get_record("samples", at.session_state["s_current"])
        assert sorted(i["status"] for i in sample["items"]).count("no_issue") == 1, (chat_id, sample["items"])
    finally:
        arch.close()


def test_the_violations_table_shows_recipients_severity_and_the_marked_content(dash_archive) -> None:
    """GIVEN the queue THEN each row has the recipients, the severity in Chinese and an excerpt of the message
    with the matched text in 【】, taken from the stored message."""
    at = open_page("admin", "pages/violations.py")
    at.multiselect(key="v_status").set_value([]).run()
    no_traceback(at)
    table = at.dataframe[0].value
    row = table[table["命中词"] == "私下转账"].iloc[0]
    assert row["发送方"] == "赵鑫" and row["接收方"] == "张伟" and row["严重程度"] == "高"
    assert row["内容"] == "手续费可以【私下转账】给你吗"
    assert set(table["严重程度"]) <= {"高", "中", "低", "严重"}
    group_row = table[table["命中词"] == "回扣"].iloc[0]
    assert group_row["接收方"] == "VIP客户群"


def test_customer_list_has_the_seed_columns(dash_archive) -> None:
    """GIVEN 孙丽 followed by 王强 (left) and 张伟, and 周梅 who refused archiving THEN 当前/非当前跟进人数 split
    by employment, 周梅's 会话状态 is 会话中断 and every customer with messages has a state."""
    at = open_page("admin", "pages/customers.py")
    table = at.dataframe[0].value.set_index("客户名称")
    assert (table.loc["孙丽", "当前跟进人数"], table.loc["孙丽", "非当前跟进人数"]) == (1, 1)
    assert table.loc["周梅", "会话状态"] == "会话中断" and table.loc["钱多多", "会话状态"] == "正常对话中"
    assert set(table["会话状态"]) <= {"正常对话中", "会话中断", "当前无会话"} and "描述" in table.columns


def test_employee_table_links_to_the_archive(dash_archive) -> None:
    """GIVEN 员工管理 THEN the seed's columns, 当前负责客户数 counted from the directory's followers, and a
    查看会话存档 link per employee that opens 查看聊天记录 on that employee."""
    at = open_page("admin", "pages/employees.py")
    no_traceback(at)
    table = at.dataframe[0].value.set_index("名称")
    assert list(table.columns) == ["职务", "部门", "当前负责客户数", "会话存档状态", "操作"]
    assert table.loc["张伟", "当前负责客户数"] == 2 and table.loc["王强", "会话存档状态"] == "曾归档"
    assert table.loc["周杰", "操作"].startswith("conversations?emp=zhoujie")
    at.query_params["emp"] = "zhoujie"
    at.switch_page("pages/conversations.py")
    at.run()
    assert at.radio(key="emp_pick").value == "zhoujie"


def test_rule_keywords_can_be_entered_comma_separated(dash_archive) -> None:
    """GIVEN 回扣,返点，佣金 typed in the rule form (the seed: 用英文, 隔开; Chinese commas too) THEN three keywords."""
    from dashboard._rules_form import keywords_from_text

    assert keywords_from_text("回扣,返点，佣金") == ["回扣", "返点", "佣金"]
    assert keywords_from_text("回扣, 返现 | word\n好处费") == ["回扣", {"term": "返现", "match": "word"}, "好处费"]
