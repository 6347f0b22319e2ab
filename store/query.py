"""The search query language (CONTRACT.md), parsed by our own grammar, never passed raw
to an engine.

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*          words are ANDed
    unary   := ("-" | "NOT") unary | atom
    atom    := PHRASE | WORD | "=" WORD | "(" or_expr ")"

A PHRASE is ``"..."`` (or Chinese quotes “...”): it matches every message whose text
contains it exactly, after width and case folding. A bare WORD matches exactly the same
messages as the same word quoted (auditors type 回扣, not "回扣", and expect 私下转账 to
be found by 转账); messages where jieba segments it as a whole word rank higher. A WORD
prefixed with ``=`` (``=回扣``) is the whole-word operator: it matches only where the
analyzer's words contain it (a word jieba splits into several must match them in
sequence), for the rare search where 验证 must not find 验证码. Both backends translate
the same AST; highlights use ``positive_terms``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import QueryError

MAX_QUERY_LENGTH = 1000
MAX_CLAUSES = 64

OPEN_QUOTES = {'"': '"', "“": "”", "「": "」"}


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Word:
    """A bare word: substring semantics like a phrase; ``whole``: the ``=word`` operator."""

    text: str
    whole: bool = False


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class MatchAll:
    """The empty query: every message (subject to filters)."""


Node = Phrase | Word | And | Or | Not | MatchAll


def _tokenize(query: str) -> list[tuple[str, str, int]]:
    """(kind, value, position): kinds phrase, word, lparen, rparen, not, or, and."""
    tokens: list[tuple[str, str, int]] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in OPEN_QUOTES:
            close = OPEN_QUOTES[ch]
            end = query.find(close, i + 1)
            if ch == '"' and end < 0:
                raise QueryError('unterminated quote: add the closing "', query, i)
            if end < 0:
                raise QueryError(f"unterminated quote: add the closing {close}", query, i)
            text = query[i + 1 : end]
            if not text.strip():
                raise QueryError('empty phrase ""', query, i)
            tokens.append(("phrase", text, i))
            i = end + 1
        elif ch in "(（":
            tokens.append(("lparen", ch, i))
            i += 1
        elif ch in ")）":
            tokens.append(("rparen", ch, i))
            i += 1
        elif (
            ch == "-"
            and i + 1 < n
            and not query[i + 1].isspace()
            and (i == 0 or query[i - 1].isspace() or query[i - 1] in "(（")
        ):
            tokens.append(("not", "-", i))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in "()（）" and query[i] not in OPEN_QUOTES:
                i += 1
            word = query[start:i]
            if word == "OR" or word == "|":
                tokens.append(("or", word, start))
            elif word == "AND":
                tokens.append(("and", word, start))
            elif word == "NOT":
                tokens.append(("not", word, start))
            else:
                tokens.append(("word", word, start))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.pos = 0
        self.clauses = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            return MatchAll()
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            if tok[0] == "rparen":
                raise QueryError("unmatched closing parenthesis", self.query, tok[2])
            raise QueryError(f"unexpected {tok[1]!r}", self.query, tok[2])
        if _only_negative(node):
            node = And((MatchAll(), node)) if not isinstance(node, And) else And((MatchAll(), *node.children))
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (tok := self.peek()) is not None and tok[0] == "or":
            self.take()
            if self.peek() is None or self.peek()[0] in ("or", "rparen", "and"):
                raise QueryError("OR needs a term on both sides", self.query, tok[2])
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (tok := self.peek()) is not None and tok[0] not in ("or", "rparen"):
            if tok[0] == "and":
                self.take()
                if self.peek() is None or self.peek()[0] in ("or", "rparen", "and"):
                    raise QueryError("AND needs a term on both sides", self.query, tok[2])
                continue
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise QueryError("the query ends where a term was expected", self.query, len(self.query) - 1)
        if tok[0] == "not":
            self.take()
            if self.peek() is None:
                raise QueryError(f"{tok[1]} needs a term after it", self.query, tok[2])
            return Not(self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, value, position = self.take()
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryError(f"too many terms (at most {MAX_CLAUSES})", self.query, position)
        if kind == "phrase":
            return Phrase(value)
        if kind == "word":
            return _word(value, self.query, position)
        if kind == "lparen":
            if self.peek() is not None and self.peek()[0] == "rparen":
                raise QueryError("empty parentheses", self.query, position)
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing[0] != "rparen":
                raise QueryError("missing closing parenthesis", self.query, position)
            self.take()
            return node
        if kind == "rparen":
            raise QueryError("unmatched closing parenthesis", self.query, position)
        raise QueryError(f"{value!r} cannot start a term", self.query, position)


WHOLE_WORD = "="


def _word(value: str, query: str, position: int) -> Word:
    """A bare word, or ``=word`` (whole words only)."""
    if not value.startswith(WHOLE_WORD) or value == WHOLE_WORD:
        return Word(value)
    word = value[len(WHOLE_WORD) :]
    if word.startswith(WHOLE_WORD):
        raise QueryError(f"write the whole-word operator once: ={word.lstrip(WHOLE_WORD)}", query, position)
    return Word(word, whole=True)


def _only_negative(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(isinstance(c, Not) for c in node.children)
    return False


def parse_query(query: str) -> Node:
    """The AST of ``query``; raises ``QueryError`` with the position of the problem."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is too long (at most {MAX_QUERY_LENGTH} characters)", query[:40] + "…")
    return _Parser(query).parse()


def positive_terms(node: Node) -> list[Node]:
    """Phrases and words that a hit matched (not under NOT): what highlights mark."""
    out: list[Node] = []

    def walk(n: Node, negated: bool) -> None:
        if isinstance(n, (Phrase, Word)):
            if not negated:
                out.append(n)
        elif isinstance(n, (And, Or)):
            for c in n.children:
                walk(c, negated)
        elif isinstance(n, Not):
            walk(n.child, not negated)

    walk(node, False)
    return out


def has_scoring_terms(node: Node) -> bool:
    return bool(positive_terms(node))
