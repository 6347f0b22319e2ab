"""Bad records are dead letters with a reason naming the field, never an exception that costs the batch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.directory import Directory
from core.errors import ParseError
from indexer.normalize import KNOWN_MSGTYPES, normalize

DIRECTORY = Directory.from_dict(None)
GOOD: dict[str, Any] = {
    "msgid": "m1",
    "action": "send",
    "from": "zhangsan",
    "tolist": ["lisi"],
    "roomid": "",
    "msgtime": 1_700_000_000_000,
    "msgtype": "text",
    "text": {"content": "你好"},
}


@pytest.mark.parametrize(
    "change,field",
    [
        ({"msgtime": "yesterday"}, "msgtime"),
        ({"msgtime": 1e20}, "msgtime"),
        ({"msgtime": -5}, "msgtime"),
        ({"msgtime": True}, "msgtime"),
        ({"msgtime": 1.7e12 + 0.5}, "msgtime"),
        ({"msgtime": None}, "msgtime"),
        ({"msgid": ""}, "msgid"),
        ({"msgid": 12}, "msgid"),
        ({"from": ["a"]}, "from"),
        ({"tolist": "lisi"}, "tolist"),
        ({"tolist": [1, 2]}, "tolist"),
        ({"roomid": 7}, "roomid"),
        ({"msgtype": ""}, "msgtype"),
        ({"action": "delete"}, "action"),
        ({"text": [1]}, "text"),
    ],
)
def test_a_bad_field_is_a_parse_error_naming_it(change: dict[str, Any], field: str) -> None:
    """GIVEN a WeCom message with one bad field WHEN it is normalized THEN the error names the field"""
    record = {**GOOD, **change}
    with pytest.raises(ParseError, match=f"field {field}"):
        normalize(json.dumps(record), seq=1, directory=DIRECTORY)


def test_a_message_over_the_size_limit_is_refused_with_its_size() -> None:
    """GIVEN a message longer than max_chars WHEN it is normalized THEN the reason gives the size and the setting"""
    record = json.dumps({**GOOD, "text": {"content": "长" * 2000}}, ensure_ascii=False)
    with pytest.raises(ParseError, match="max_message_chars"):
        normalize(record, seq=1, directory=DIRECTORY, max_chars=1000)
    assert normalize(record, seq=1, directory=DIRECTORY, max_chars=10_000).text == "长" * 2000


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "msgid",
    "action",
    "from",
    "tolist",
    "roomid",
    "msgtime",
    "msgtype",
    "time",
    "user",
    "content",
    "item",
    "sdkfileid",
    "filesize",
    "filename",
    "fileext",
    "title",
    "pre_msgid",
    "userid",
    "vote",
    "type",
]


@settings(max_examples=200, deadline=None)
@given(
    msgtype=st.sampled_from(sorted(KNOWN_MSGTYPES)),
    body=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES),
    top=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=4),
)
@pytest.mark.slow  # over a second: make test, not make test-fast
def test_any_record_shape_is_stored_or_a_parse_error_never_another_exception(
    msgtype: str, body: dict[str, Any], top: dict[str, Any]
) -> None:
    """GIVEN a message of any known type whose fields and type object hold values of any JSON type
    WHEN it is normalized
    THEN it either becomes a Message or raises ParseError (a dead letter), never another exception"""
    record = {**GOOD, "msgtype": msgtype, msgtype: body, **top}
    try:
        normalize(json.dumps(record), seq=1, directory=DIRECTORY)
    except ParseError:
        pass


def test_json_nested_too_deep_to_parse_is_a_parse_error() -> None:
    """GIVEN a line of 100,000 nested brackets WHEN it is normalized THEN it is a ParseError, not a crash"""
    with pytest.raises(ParseError, match="not valid JSON"):
        normalize("[" * 100_000 + "]" * 100_000, seq=1, directory=DIRECTORY)
