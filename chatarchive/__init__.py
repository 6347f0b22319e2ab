"""chatarchive: a compliance archive for WeCom (企业微信) chat records.

The data flows through the top-level packages in this order:
``indexer.source`` → ``indexer.decrypt`` → ``indexer.normalize`` → ``analyzers`` →
``analyzers.rules`` (match) → ``store`` → ``dashboard``. ``compliance`` holds
accounts, scope, the audit trail and retention; ``chatarchive`` itself holds the
settings, the shared models, the core ``Archive`` object and the CLI.
"""

__version__ = "0.1.0"
