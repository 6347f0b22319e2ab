"""Message text as text: the one way the dashboard turns text from a chat into HTML.

Streamlit's ``st.markdown`` (even with ``unsafe_allow_html``) still parses Markdown: a quoted
reply's ``------`` line became a giant heading, and ``![](http://…)`` made the auditor's browser
fetch a URL. ``html.escape`` alone does not stop that, because Markdown's own characters are not
HTML-special, and a blank line inside a message ends the surrounding HTML block. So every
character that means something in HTML or Markdown becomes a numeric character reference (shown
literally, never parsed again) and line breaks become ``<br>``: the text reads as the sender
wrote it, and nothing in it is rendered.
"""

from __future__ import annotations

# Markdown's punctuation (the ASCII characters that start or end CommonMark or GitHub markup,
# autolinks and Streamlit's :emoji:/$math$) as numeric references; HTML's five as html.escape
# writes them. Full-width forms (，：！) mean nothing to Markdown and are left alone.
_MARKDOWN = "\\`*_{}[]()#+-.!|~=:/@$%^"
_TABLE = {ord(ch): f"&#{ord(ch)};" for ch in _MARKDOWN}
_TABLE.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#x27;"})
_TABLE[ord("\r")] = ""
_TABLE[ord("\n")] = "<br>"
_TABLE[ord("\t")] = "&#9;"


def text_html(text: object) -> str:
    """``text`` as inert HTML: every character displays as written, nothing is markup."""
    return str(text if text is not None else "").translate(_TABLE)
