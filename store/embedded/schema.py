"""The tantivy schema of the message index and the conversion Message → tantivy document.

Text is indexed three ways, all pre-tokenized here in Python (no tokenizer needs to be
registered when an index is opened, and positions are what we say they are):

- ``words``: the jieba words, position = word index: BM25 ranking and bare-word queries.
- ``bi``: overlapping character bigrams of ``fold(text)``, position = character offset:
  a phrase of n ≥ 2 characters is a phrase query over its bigrams, which matches exactly
  the texts containing it (tantivy's own ngram tokenizer gives every gram position 0,
  which makes such phrase queries inexact; see docs/embedded-engine.md).
- ``uni``: the characters of ``fold(text)`` (whitespace dropped): one-character phrases.

The whole Message is stored as JSON in ``doc``; keyword and numeric fields are fast so
every name in ``store.base.AGG_FIELDS`` aggregates.
"""

from __future__ import annotations

import hashlib
import json

import tantivy

from analyzers.chinese import get_analyzer
from analyzers.textfold import fold
from core.models import Message

SCHEMA_VERSION = 3  # 2: word positions fixed (multi-token bare words); 3: sentiment fields
CHECKPOINT_ID = "\u0000checkpoint"  # the msgid of the one document that holds the checkpoint

KEYWORD_FIELDS = ("msgid", "msgtype", "sender", "sender_kind", "chat_id", "chat_kind", "kind", "sentiment")
MULTI_KEYWORD_FIELDS = ("employees", "externals")
INTEGER_FIELDS = ("seq", "time", "reply_ms", "reply_business_ms", "key_version", "checkpoint")
MULTI_INTEGER_FIELDS = ("departments",)
BOOLEAN_FIELDS = ("flagged", "revoked", "has_external")


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in KEYWORD_FIELDS + MULTI_KEYWORD_FIELDS:
        sb.add_text_field(name, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
    for name in INTEGER_FIELDS + MULTI_INTEGER_FIELDS:
        sb.add_integer_field(name, stored=False, indexed=True, fast=True)
    for name in BOOLEAN_FIELDS:
        sb.add_boolean_field(name, stored=False, indexed=True, fast=True)
    sb.add_float_field("sentiment_score", stored=False, indexed=True, fast=True)
    sb.add_text_field("words", stored=False, tokenizer_name="raw", index_option="position")
    sb.add_text_field("bi", stored=False, tokenizer_name="raw", index_option="position")
    sb.add_text_field("uni", stored=False, tokenizer_name="raw", index_option="freq")
    sb.add_bytes_field("doc", stored=True)
    return sb.build()


def schema_fingerprint() -> str:
    """Changes when the schema or the analyzer's dictionaries change (the words field
    depends on them): a stored index with another fingerprint is rebuilt by ``init``."""
    h = hashlib.sha256(f"schema:{SCHEMA_VERSION}".encode())
    for path in get_analyzer().dictionaries:
        h.update(str(path.name).encode())
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _pretokenized(text: str, tokens: list[tantivy.Token]) -> tantivy.PreTokenizedString:
    """``tokens`` are ``tantivy.Token(text, position, offset_from, offset_to)`` (that order)."""
    return tantivy.PreTokenizedString(text, tokens)


def message_words(message: Message) -> list[str]:
    return list(message.words) if message.words else get_analyzer().words(message.text)


def to_document(message: Message) -> tantivy.Document:
    d = tantivy.Document()
    d.add_text("kind", "message")
    d.add_text("msgid", message.msgid)
    d.add_text("msgtype", message.msgtype)
    d.add_text("sender", message.sender)
    d.add_text("sender_kind", message.sender_kind)
    d.add_text("chat_id", message.chat_id)
    d.add_text("chat_kind", message.chat_kind)
    d.add_text("sentiment", message.sentiment)  # "" for messages without one, as Elasticsearch indexes it
    d.add_float("sentiment_score", float(message.sentiment_score))
    for e in message.employees:
        d.add_text("employees", e)
    for x in message.externals:
        d.add_text("externals", x)
    for dep in message.departments:
        d.add_integer("departments", int(dep))
    d.add_integer("seq", int(message.seq))
    d.add_integer("time", int(message.time_ms))
    d.add_integer("reply_ms", int(message.reply_ms))
    d.add_integer("reply_business_ms", int(message.reply_business_ms))
    d.add_integer("key_version", int(message.key_version))
    d.add_boolean("flagged", bool(message.flagged))
    d.add_boolean("revoked", bool(message.revoked))
    d.add_boolean("has_external", bool(message.has_external))

    words = message_words(message)
    if words:
        d.add_pre_tokenized_text(
            "words", _pretokenized(" ".join(words), [tantivy.Token(w, i, 0, 0) for i, w in enumerate(words)])
        )
    folded = fold(message.text)
    if len(folded) >= 2:
        bigrams = [tantivy.Token(folded[i : i + 2], i, i, i + 2) for i in range(len(folded) - 1)]
        d.add_pre_tokenized_text("bi", _pretokenized(folded, bigrams))
    chars = [tantivy.Token(ch, i, i, i + 1) for i, ch in enumerate(folded) if not ch.isspace()]
    if chars:
        d.add_pre_tokenized_text("uni", _pretokenized(folded, chars))
    d.add_bytes("doc", json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return d


def checkpoint_document(seq: int) -> tantivy.Document:
    d = tantivy.Document()
    d.add_text("kind", "checkpoint")
    d.add_text("msgid", CHECKPOINT_ID)
    d.add_integer("checkpoint", int(seq))
    return d


def from_stored(doc: tantivy.Document) -> Message:
    stored = doc.get_first("doc")
    assert stored is not None, "every message document stores the message as JSON"
    return Message.from_dict(json.loads(stored))
