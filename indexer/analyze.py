"""The analyze stage's work on a batch: the jieba words of each text and the sentiment of
each customer message. Pure (no store), so worker processes (``indexer.workers``) run it
as well as the pipeline's ``Analyze`` stage."""

from __future__ import annotations

from collections.abc import Iterable

from analyzers.chinese import ChineseAnalyzer
from analyzers.insights.sentiment import annotate as annotate_sentiment
from core.models import Message


def analyze_messages(messages: Iterable[Message], analyzer: ChineseAnalyzer) -> None:
    """Sets ``words`` and (on customer messages) ``sentiment``/``sentiment_score`` in place."""
    messages = list(messages)
    for m in messages:
        if m.text:
            m.words = analyzer.words(m.text)
    annotate_sentiment(messages)
