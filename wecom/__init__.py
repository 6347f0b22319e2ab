"""WeCom's server APIs around the chat archive: the API client, the HTTP simulator, directory sync,
consent checks, callbacks and reviewer alerts (see docs/wecom.md)."""
