"""Media of shown messages: images inline, voice/video/files downloadable, from the
content-addressed media store under ``DATA/media`` (``indexer.media`` fills it)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from chatarchive.archive import Archive
from core.models import Message
from dashboard import _ui
from indexer.media import media_id

IMAGE_EXTS = {"jpg", "jpeg", "png", "gif", "webp", "bmp"}


def media_files(archive: Archive, message: Message) -> list[tuple[str, Path | None, str]]:
    """``[(name, path or None if not fetched yet, status)]`` for a message's media."""
    root = archive.settings.data_dir / "media"
    out: list[tuple[str, Path | None, str]] = []
    for ref in message.media:
        record = archive.store.get_record("media", media_id(ref.sdkfileid)) or {}
        name = ref.name or f"{message.msgtype}.{ref.ext or record.get('ext') or 'bin'}"
        path = root / record["path"] if record.get("status") == "done" and record.get("path") else None
        if path is not None and (not path.resolve().is_relative_to(root.resolve()) or not path.is_file()):
            path = None  # never serve anything outside the media store
        out.append((name, path, str(record.get("status") or "not queued")))
    return out


def show_media(archive: Archive, messages: list[Message]) -> None:
    with_media = [m for m in messages if m.media]
    if not with_media:
        return
    with st.expander(f"媒体文件 Media ({sum(len(m.media) for m in with_media)})"):
        for m in with_media:
            for i, (name, path, status) in enumerate(media_files(archive, m)):
                if path is None:
                    st.caption(f"{_ui.esc(m.msgtype)} · {_ui.esc(name)} · 未下载 ({status})", unsafe_allow_html=True)
                elif path.suffix.lower().lstrip(".") in IMAGE_EXTS:
                    st.image(str(path), caption=name, width=240)
                else:
                    st.download_button(
                        f"下载 {_ui.esc(name)}", path.read_bytes(), file_name=name, key=f"media_{m.msgid}_{i}"
                    )
