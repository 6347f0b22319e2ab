"""Our query AST, MessageFilter and Scope → tantivy queries (see store.query for the language).

Phrase: fold(phrase) of n ≥ 2 characters is a phrase query over the ``bi`` field using
the bigrams at offsets 0, 2, 4, … and n-2 (they cover every character, and explicit
positions make the match exact); one character is a term on ``uni``. A bare word: the
same phrase query (substring semantics), plus an optional boosted clause on ``words`` so
that messages where the analyzer keeps it whole rank higher. ``=word`` (whole words
only): the analyzer's words of the query word; one → a term on ``words``, several → a
phrase over ``words``, none (punctuation) → a phrase.
"""

from __future__ import annotations

import tantivy

from analyzers.chinese import query_words
from analyzers.textfold import fold
from core.models import MessageFilter, Scope
from store.embedded.schema import term
from store.query import And, MatchAll, Node, Not, Or, Phrase, Word

Occur = tantivy.Occur
Query = tantivy.Query


def phrase_query(schema: tantivy.Schema, text: str) -> tantivy.Query:
    folded = fold(text)
    n = len(folded)
    if n == 0:
        return Query.all_query()
    if n == 1:
        return Query.term_query(schema, "uni", folded)
    offsets = list(range(0, n - 1, 2))
    if offsets[-1] != n - 2:
        offsets.append(n - 2)
    if len(offsets) == 1:
        return Query.term_query(schema, "bi", term(folded[0:2]))
    return Query.phrase_query(schema, "bi", [(o, term(folded[o : o + 2])) for o in offsets])


def word_query(schema: tantivy.Schema, text: str) -> tantivy.Query:
    tokens = query_words(text)
    if not tokens:
        return phrase_query(schema, text)
    if len(tokens) == 1:
        return Query.term_query(schema, "words", term(tokens[0]))
    return Query.phrase_query(schema, "words", [term(t) for t in tokens])


# How much a whole-word occurrence adds to a bare word's relevance over a substring one.
WHOLE_WORD_BOOST = 2.0


def bare_word_query(schema: tantivy.Schema, text: str) -> tantivy.Query:
    """Every message containing ``text`` (as the phrase would); whole-word hits score higher."""
    substring = phrase_query(schema, text)
    if not query_words(text):
        return substring
    boost = Query.boost_query(word_query(schema, text), WHOLE_WORD_BOOST)
    return Query.boolean_query([(Occur.Must, substring), (Occur.Should, boost)])


def translate(schema: tantivy.Schema, node: Node) -> tantivy.Query:
    if isinstance(node, MatchAll):
        return Query.all_query()
    if isinstance(node, Phrase):
        return phrase_query(schema, node.text)
    if isinstance(node, Word):
        return word_query(schema, node.text) if node.whole else bare_word_query(schema, node.text)
    if isinstance(node, Not):
        return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, translate(schema, node.child))])
    if isinstance(node, And):
        clauses = []
        for child in node.children:
            if isinstance(child, Not):
                clauses.append((Occur.MustNot, translate(schema, child.child)))
            else:
                clauses.append((Occur.Must, translate(schema, child)))
        if all(occur == Occur.MustNot for occur, _ in clauses):
            clauses.insert(0, (Occur.Must, Query.all_query()))
        return Query.boolean_query(clauses)
    if isinstance(node, Or):
        return Query.boolean_query([(Occur.Should, translate(schema, c)) for c in node.children])
    raise TypeError(f"unknown query node {node!r}")


def _one_of(schema: tantivy.Schema, field: str, values: list[str | int]) -> tantivy.Query:
    values = list(dict.fromkeys(values))
    if len(values) == 1:
        return Query.term_query(schema, field, values[0])
    return Query.term_set_query(schema, field, values)


def _range(schema: tantivy.Schema, field: str, low: int | None, high: int | None) -> tantivy.Query:
    """[low, high): either side may be open."""
    if high is not None:
        return Query.range_query(schema, field, tantivy.FieldType.Integer, low, int(high), include_upper=False)
    return Query.range_query(schema, field, tantivy.FieldType.Integer, int(low), None)  # type: ignore[arg-type]


def filter_clauses(schema: tantivy.Schema, f: MessageFilter) -> list[tantivy.Query]:
    """Every MessageFilter field as a query, ANDed by the caller. None: nothing can match."""
    out: list[tantivy.Query] = []
    if f.time_from is not None or f.time_to is not None:
        out.append(_range(schema, "time", f.time_from, f.time_to))
    if f.seq_from is not None or f.seq_to is not None:
        out.append(_range(schema, "seq", f.seq_from, f.seq_to))
    for field, values in f.terms():
        out.append(_one_of(schema, field, [int(v) if field == "departments" else str(v) for v in values]))
    if f.flagged is not None:
        out.append(Query.term_query(schema, "flagged", bool(f.flagged)))
    if f.revoked is not None:
        out.append(Query.term_query(schema, "revoked", bool(f.revoked)))
    return out


def scope_clause(schema: tantivy.Schema, scope: Scope) -> tantivy.Query | None:
    """None for everything; an empty scope matches nothing."""
    if scope.all:
        return None
    if scope.is_empty:
        return Query.empty_query()
    parts = []
    if scope.users:
        parts.append((Occur.Should, _one_of(schema, "employees", sorted(scope.users))))
    if scope.departments:
        parts.append((Occur.Should, _one_of(schema, "departments", sorted(scope.departments))))
    return Query.boolean_query(parts)


def only_text_documents(node: Node) -> bool:
    """True if ``node`` can only match documents with text (so never the checkpoint document)."""
    if isinstance(node, (Phrase, Word)):
        return True
    if isinstance(node, And):
        return any(only_text_documents(c) for c in node.children)
    if isinstance(node, Or):
        return all(only_text_documents(c) for c in node.children)
    return False  # MatchAll, Not


def combine(
    schema: tantivy.Schema, text_query: tantivy.Query | None, f: MessageFilter, scope: Scope, *, text_only: bool = False
) -> tantivy.Query:
    """The text query (scored) AND the filters and scope, never the checkpoint document.

    ``text_only``: the text query matches only documents with text. The checkpoint
    document has no text and none of the filtered fields, so the MustNot that excludes it
    is only added when nothing else does; and a plain text query stays unwrapped, which
    keeps tantivy's fast paths (a term query's count is its document frequency)."""
    restrictions = [Query.const_score_query(q, 0.0) for q in filter_clauses(schema, f)]
    sq = scope_clause(schema, scope)
    if sq is not None:
        restrictions.append(Query.const_score_query(sq, 0.0))
    if text_query is not None and text_only and not restrictions:
        return text_query
    clauses = [(Occur.Must, text_query if text_query is not None else Query.all_query())]
    clauses += [(Occur.Must, q) for q in restrictions]
    if not restrictions and not (text_query is not None and text_only):
        clauses.append((Occur.MustNot, Query.term_query(schema, "kind", "checkpoint")))
    return Query.boolean_query(clauses)
