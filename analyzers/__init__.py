"""Text analysis: folding, the Chinese analyzer (jieba), the sensitive rules and analytics."""
