"""The domain rules that live on the core models: who a scope sees, who wrote a message."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import Scope
from tests.helpers import CUSTOMER, examples, make_message

USERS = st.sampled_from(["zhangsan", "lisi", "wangwu", "zhaoliu"])
DEPARTMENTS = st.frozensets(st.integers(1, 6), max_size=3)


@settings(max_examples=examples(300))
@given(
    all_=st.booleans(),
    users=st.frozensets(USERS, max_size=2),
    departments=DEPARTMENTS,
    employee=USERS,
    employee_departments=DEPARTMENTS,
)
def test_an_employee_is_visible_exactly_when_their_messages_are(
    all_: bool, users: frozenset[str], departments: frozenset[int], employee: str, employee_departments: frozenset[int]
) -> None:
    """GIVEN any scope and employee WHEN asked whether the employee is visible THEN the answer is
    the scope's verdict on a message of that employee alone (the reference semantics)."""
    scope = Scope(all=all_, departments=departments, users=users)
    message = make_message(sender=employee, to=(CUSTOMER,), departments=sorted(employee_departments))
    assert scope.allows_employee(employee, employee_departments) == scope.allows(message)


def test_only_a_customers_sent_text_counts_as_written_by_the_customer() -> None:
    """GIVEN messages of several kinds WHEN asked who wrote them THEN only the customer's sent text counts."""
    said = make_message("太贵了", sender=CUSTOMER, to=("zhangsan",))
    assert said.customer_wrote
    assert not make_message("好的", sender="zhangsan").customer_wrote
    assert not make_message("", sender=CUSTOMER, to=("zhangsan",)).customer_wrote
    for msgtype in ("revoke", "agree", "disagree"):
        assert not make_message("x", sender=CUSTOMER, to=("zhangsan",), msgtype=msgtype).customer_wrote
    assert not make_message("x", sender=CUSTOMER, to=("zhangsan",), action="recall").customer_wrote
