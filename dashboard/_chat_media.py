"""Media as the chat viewer shows it: a small inline thumbnail for images and stickers, or
a placeholder that says why there is none (not fetched yet, missing, not decodable).

A file that Pillow cannot decode (the simulator's images are magic bytes plus noise;
real archives have truncated or exotic files) becomes a placeholder, never an exception.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from chatarchive.archive import Archive
from core.models import Message
from dashboard._media import IMAGE_EXTS, media_files

log = logging.getLogger(__name__)

THUMBNAIL_PX = 240
MAX_DECODE_BYTES = 20 * 1024 * 1024  # larger images are offered as a download only
STATUS_REASONS = {"pending": "等待下载", "failed": "下载失败", "not queued": "未排队下载", "missing": "文件缺失"}


@dataclass(frozen=True)
class MediaView:
    name: str
    path: Path | None  # the fetched file inside the media store, or None
    thumbnail: str  # a data: URI for images that decode, else ""
    problem: str  # why there is no file or no thumbnail, "" when there is one

    @property
    def is_image(self) -> bool:
        return self.name.rsplit(".", 1)[-1].lower() in IMAGE_EXTS


@lru_cache(maxsize=512)
def _thumbnail(path: str, mtime_ns: int) -> tuple[str, str]:
    """(data URI, "") or ("", reason). Cached by path and mtime: media files are content-addressed."""
    if Path(path).stat().st_size > MAX_DECODE_BYTES:
        return "", "图片过大，请下载查看"
    try:
        with Image.open(path) as img:
            img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").save(out, format="PNG")
    except UnidentifiedImageError:
        return "", "图片无法解码 (UnidentifiedImageError)"
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        return "", f"图片无法解码 ({type(e).__name__})"
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii"), ""


def thumbnail(path: Path) -> tuple[str, str]:
    try:
        return _thumbnail(str(path), path.stat().st_mtime_ns)
    except OSError as e:
        log.warning("cannot read media file %s: %s", path, e)
        return "", f"文件无法读取 ({type(e).__name__})"


def media_views(archive: Archive, message: Message) -> list[MediaView]:
    """Every media file of ``message`` with its thumbnail or the reason it has none."""
    views: list[MediaView] = []
    for name, path, status in media_files(archive, message):
        if path is None:
            views.append(MediaView(name, None, "", STATUS_REASONS.get(status, status)))
        elif name.rsplit(".", 1)[-1].lower() in IMAGE_EXTS:
            uri, problem = thumbnail(path)
            views.append(MediaView(name, path, uri, problem))
        else:
            views.append(MediaView(name, path, "", ""))
    return views
