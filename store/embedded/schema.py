"""The tantivy schema of the message index and the conversion Message → tantivy document.

Text is indexed three ways. The tokens are made here and handed to tantivy as one string
of space-separated terms, which the ``terms`` tokenizer (registered on every index we open)
splits in native code; the n-th term gets position n, so positions are what we say they are:

- ``words``: the jieba words, position = word index: BM25 ranking and bare-word queries.
- ``bi``: overlapping character bigrams of ``fold(text)``, position = character offset:
  a phrase of n ≥ 2 characters is a phrase query over its bigrams, which matches exactly
  the texts containing it (tantivy's own ngram tokenizer gives every gram position 0,
  which makes such phrase queries inexact; see docs/embedded-engine.md).
- ``uni``: the characters of ``fold(text)`` (whitespace dropped): one-character phrases.

A term that contains a space or NUL is escaped (``term``), here and in every query, so a
text's spaces never split a bigram. (Until schema 3 the tokens were tantivy ``Token``
objects built in Python: about twice the indexing cost.)

The whole Message is stored as JSON in ``doc``; keyword and numeric fields are fast so
every name in ``store.base.AGG_FIELDS`` aggregates.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable

import orjson
import tantivy

from analyzers.chinese import get_analyzer
from analyzers.textfold import fold
from core.models import Message

SCHEMA_VERSION = 4  # 2: word positions fixed (multi-token bare words); 3: sentiment fields; 4: terms tokenizer
CHECKPOINT_ID = "\u0000checkpoint"  # the msgid of the one document that holds the checkpoint

KEYWORD_FIELDS = ("msgid", "msgtype", "sender", "sender_kind", "chat_id", "chat_kind", "kind", "sentiment")
MULTI_KEYWORD_FIELDS = ("employees", "externals")
INTEGER_FIELDS = ("seq", "time", "reply_ms", "reply_business_ms", "key_version", "checkpoint")
MULTI_INTEGER_FIELDS = ("departments",)
BOOLEAN_FIELDS = ("flagged", "revoked", "has_external")
TERMS_TOKENIZER = "terms"  # splits on U+0020 only: the separator of the term strings built here


def register_tokenizers(index: tantivy.Index) -> tantivy.Index:
    """Every index we create or open needs this before documents are added to it."""
    index.register_tokenizer(TERMS_TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex("[^ ]+")).build())
    return index


def term(token: str) -> str:
    """A token as an indexed term: a space or NUL inside it escaped (injective)."""
    if " " in token or "\x00" in token:
        return token.replace("\x00", "\x00\x00").replace(" ", "\x00_")
    return token


def _terms(tokens: Iterable[str], joined: str | None = None) -> str:
    """Space-separated terms. ``joined`` is the tokens already joined, when cheaper to make."""
    tokens = list(tokens)
    joined = " ".join(tokens) if joined is None else joined
    if joined.count(" ") == len(tokens) - 1 and "\x00" not in joined:
        return joined  # no token had a space or NUL: the usual case, no per-token work
    return " ".join(map(term, tokens))


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in KEYWORD_FIELDS + MULTI_KEYWORD_FIELDS:
        sb.add_text_field(name, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
    for name in INTEGER_FIELDS + MULTI_INTEGER_FIELDS:
        sb.add_integer_field(name, stored=False, indexed=True, fast=True)
    for name in BOOLEAN_FIELDS:
        sb.add_boolean_field(name, stored=False, indexed=True, fast=True)
    sb.add_float_field("sentiment_score", stored=False, indexed=True, fast=True)
    sb.add_text_field("words", stored=False, tokenizer_name=TERMS_TOKENIZER, index_option="position")
    sb.add_text_field("bi", stored=False, tokenizer_name=TERMS_TOKENIZER, index_option="position")
    sb.add_text_field("uni", stored=False, tokenizer_name=TERMS_TOKENIZER, index_option="freq")
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
        d.add_text("words", _terms(words))
    folded = fold(message.text)
    if len(folded) >= 2:
        d.add_text("bi", _terms(map(operator.add, folded, folded[1:])))  # the bigram at offset i is term i
    solid = "".join(folded.split())  # whitespace dropped (str.split's whitespace is str.isspace's)
    if solid:
        d.add_text("uni", _terms(solid, " ".join(solid)))
    d.add_bytes("doc", stored_json(message))
    return d


def stored_json(message: Message) -> bytes:
    """The message as the JSON stored with its document (orjson: a fifth of json's cost)."""
    body = message.to_dict()
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson refuses some values json writes (integers past 64 bits): store what json writes
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def checkpoint_document(seq: int) -> tantivy.Document:
    d = tantivy.Document()
    d.add_text("kind", "checkpoint")
    d.add_text("msgid", CHECKPOINT_ID)
    d.add_integer("checkpoint", int(seq))
    return d


def from_stored(doc: tantivy.Document) -> Message:
    stored = doc.get_first("doc")
    assert stored is not None, "every message document stores the message as JSON"
    # json, not orjson: it reads every document stored since schema 1 (orjson refuses NaN, reads
    # integers past 64 bits as floats)
    return Message.from_dict(json.loads(stored))
