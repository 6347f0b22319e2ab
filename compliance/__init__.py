"""The compliance backbone: accounts and scope, the audit trail, record integrity, retention, consent."""
