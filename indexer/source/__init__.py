"""Where encrypted chat data comes from: the WeCom simulator or the vendor SDK.

``open_source("sim:DIR")`` / ``open_source("sdk:/path/libWeWorkFinanceSdk_C.so", settings)``.
"""

from __future__ import annotations

from core.errors import BadInput
from core.settings import Settings
from indexer.source.base import SDK_ERRORS, EncryptedRecord, MediaChunk, Source
from indexer.source.sdk import RetryPolicy, SdkSource
from indexer.source.simulator import SimulatorSource

__all__ = ["EncryptedRecord", "MediaChunk", "Source", "SDK_ERRORS", "open_source"]


def open_source(spec: str, settings: Settings | None = None) -> Source:
    kind, _, target = spec.partition(":")
    if kind == "sim" and target:
        return SimulatorSource(target)
    if kind == "sdk" and target:
        # One retry layer: the pipeline backs off on GetChatData and the media fetcher retries
        # each chunk, so the binding itself makes a single attempt per call.
        return SdkSource.from_settings(target, settings or Settings(), retry=RetryPolicy(attempts=1))
    raise BadInput(f"unknown source {spec!r}: use sim:DIR or sdk:PATH_TO_SO")
