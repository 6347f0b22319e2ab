"""The vendor SDK source: WeCom's ``libWeWorkFinanceSdk_C.so`` driven through ctypes.

Protocol doc §2: the 17 functions of ``WeWorkFinanceSdk_C.h``, bound with exact argtypes
and restypes (buffers as ``c_void_p`` + ``string_at(ptr, len)`` so binary media is not cut
at a NUL; ``seq`` as ``c_ulonglong``). Every call gets its own ``NewSlice``/``NewMediaData``,
released in ``finally`` after the bytes are copied. One initialised handle per thread
(the vendor's advice for concurrency), all destroyed by ``close()``.

Both error channels are checked: the function's return code (``SDK_ERRORS``) and the
``errcode`` inside the GetChatData JSON (``SERVER_ERRORS``). Transient failures are
retried with exponential backoff; errcode 301058 (response too large) halves the limit.
"""

from __future__ import annotations

import ctypes as C
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from compliance.secrets import archive_secret
from core.errors import BadInput, DecryptError, SourceError
from core.settings import Settings
from indexer.media import fetch_media, iter_media
from indexer.source.base import SDK_ERRORS, SERVER_ERRORS, EncryptedRecord, MediaChunk

log = logging.getLogger(__name__)

T = TypeVar("T")

MEDIA_CHUNK_SIZE = 524288  # the SDK's maximum per GetMediaData call
TOO_LARGE = 301058  # server errcode: the response is too large, lower the limit


class Slice_t(C.Structure):
    _fields_ = [("buf", C.c_void_p), ("len", C.c_int)]


class MediaData_t(C.Structure):
    _fields_ = [
        ("outindexbuf", C.c_void_p),
        ("out_len", C.c_int),
        ("data", C.c_void_p),
        ("data_len", C.c_int),
        ("is_finish", C.c_int),
    ]


_P_SLICE = C.POINTER(Slice_t)
_P_MEDIA = C.POINTER(MediaData_t)

# name → (argtypes, restype), exactly the vendor header (protocol doc §2.2).
SIGNATURES: dict[str, tuple[list[Any], Any]] = {
    "NewSdk": ([], C.c_void_p),
    "Init": ([C.c_void_p, C.c_char_p, C.c_char_p], C.c_int),
    "GetChatData": ([C.c_void_p, C.c_ulonglong, C.c_uint, C.c_char_p, C.c_char_p, C.c_int, _P_SLICE], C.c_int),
    "DecryptData": ([C.c_char_p, C.c_char_p, _P_SLICE], C.c_int),
    # indexbuf comes BEFORE sdkFileid
    "GetMediaData": ([C.c_void_p, C.c_char_p, C.c_char_p, C.c_char_p, C.c_char_p, C.c_int, _P_MEDIA], C.c_int),
    "DestroySdk": ([C.c_void_p], None),
    "NewSlice": ([], _P_SLICE),
    "FreeSlice": ([_P_SLICE], None),
    "GetContentFromSlice": ([_P_SLICE], C.c_void_p),
    "GetSliceLen": ([_P_SLICE], C.c_int),
    "NewMediaData": ([], _P_MEDIA),
    "FreeMediaData": ([_P_MEDIA], None),
    "GetOutIndexBuf": ([_P_MEDIA], C.c_void_p),
    "GetData": ([_P_MEDIA], C.c_void_p),
    "GetIndexLen": ([_P_MEDIA], C.c_int),
    "GetDataLen": ([_P_MEDIA], C.c_int),
    "IsMediaDataFinish": ([_P_MEDIA], C.c_int),
}


def load_library(so_path: str | Path) -> C.CDLL:
    """Loads the SDK and declares every function's signature. Raises SourceError with advice."""
    path = Path(so_path)
    if not path.is_file():
        raise SourceError(f"vendor SDK library not found: {path} (give the path to libWeWorkFinanceSdk_C.so)")
    try:
        lib = C.CDLL(str(path.resolve()))
    except OSError as e:
        raise SourceError(
            f"cannot load the vendor SDK {path}: {e} "
            "(check `ldd` on it: it needs glibc and, for v3, the OpenSSL 3 libraries)"
        ) from e
    for name, (argtypes, restype) in SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise SourceError(f"{path} does not export {name}: not a WeCom finance SDK library?") from e
        fn.argtypes = argtypes
        fn.restype = restype
    return lib


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient failures: delay, 2*delay, 4*delay... capped."""

    attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield min(delay, self.max_delay)
            delay *= 2


def sdk_error(function: str, code: int) -> SourceError:
    meaning, advice, retryable = SDK_ERRORS.get(code, ("unknown error", "see the WeCom SDK FAQ (doc 91552)", False))
    return SourceError(f"{function} failed with SDK error {code} ({meaning}): {advice}", code, retryable=retryable)


def server_error(errcode: int, errmsg: str) -> SourceError:
    meaning, advice, retryable = SERVER_ERRORS.get(
        errcode, ("server error", f"see https://open.work.weixin.qq.com/devtool/query?e={errcode}", False)
    )
    return SourceError(
        f"GetChatData: WeCom answered errcode {errcode} ({meaning}): {advice}. Server message: {errmsg}",
        errcode,
        retryable=retryable,
    )


class SdkSource:
    """``indexer.source.base.Source`` over the vendor SDK."""

    name = "sdk"

    def __init__(
        self,
        so_path: str | Path,
        corpid: str,
        secret: str,
        *,
        proxy: str = "",
        proxy_password: str = "",
        timeout: int = 5,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not corpid:
            raise BadInput("the vendor SDK source needs the corpid (setting corpid / CHATARCHIVE_CORPID)")
        if not secret:
            raise BadInput(
                "the vendor SDK source needs the archive Secret: set secret_file (or CHATARCHIVE_SECRET_FILE) "
                "to a file holding it, or CHATARCHIVE_SECRET"
            )
        self.so_path = Path(so_path)
        self._lib = load_library(so_path)
        self._corpid = corpid.encode()
        self._secret = secret.encode()
        self._proxy = proxy.encode()
        self._passwd = proxy_password.encode()
        self._timeout = int(timeout)
        self.retry = retry
        self._sleep = sleep
        self._local = threading.local()
        self._handles: list[int] = []
        self._handles_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:  # never shows the secret
        return f"SdkSource(so_path={str(self.so_path)!r}, corpid={self._corpid.decode()!r})"

    @classmethod
    def from_settings(cls, so_path: str | Path, settings: Settings, **kwargs: Any) -> SdkSource:
        """corpid, secret (secret_file first, then secret / CHATARCHIVE_SECRET), proxy, proxy_password
        and sdk_timeout from ``core.settings.Settings``."""
        return cls(
            so_path,
            settings.corpid,
            archive_secret(settings),
            proxy=settings.proxy,
            proxy_password=settings.proxy_password,
            timeout=settings.sdk_timeout,
            **kwargs,
        )

    # ---- handles -------------------------------------------------------------------------

    def _handle(self) -> int:
        """This thread's initialised handle (created and Init-ed on first use)."""
        handle = getattr(self._local, "handle", None)
        if handle is not None:
            return handle
        if self._closed:
            raise SourceError("the SDK source is closed")
        handle = self._lib.NewSdk()
        if not handle:
            raise SourceError("NewSdk returned NULL (out of memory?)")
        rc = self._lib.Init(handle, self._corpid, self._secret)
        if rc != 0:
            self._lib.DestroySdk(handle)
            raise sdk_error("Init", rc)
        with self._handles_lock:
            self._handles.append(handle)
        self._local.handle = handle
        return handle

    def private_key_files(self) -> dict[int, Path]:
        return {}  # WeCom never ships private keys: the administrator adds them

    def seq_max(self) -> int | None:
        return None  # GetChatData does not tell how far the archive goes

    def close(self) -> None:
        """Destroys every thread's handle. Call when no thread uses the source any more."""
        with self._handles_lock:
            handles, self._handles = self._handles, []
            self._closed = True
        for handle in handles:
            self._lib.DestroySdk(handle)
        self._local = threading.local()

    def __enter__(self) -> SdkSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- retries -------------------------------------------------------------------------

    def _with_retry(self, what: str, call: Callable[[], T]) -> T:
        delays = self.retry.delays()
        while True:
            try:
                return call()
            except SourceError as e:
                if not e.retryable or e.code == TOO_LARGE:
                    raise
                delay = next(delays, None)
                if delay is None:
                    raise SourceError(
                        f"{e} (gave up after {self.retry.attempts} attempts)", e.code, retryable=True
                    ) from e
                log.warning("%s: %s; retrying in %.2f s", what, e, delay)
                self._sleep(delay)

    # ---- GetChatData ---------------------------------------------------------------------

    def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """Records with seq > ``seq``, oldest first, at most ``limit`` (1..1000).

        Transient failures are retried with backoff; a "response too large" answer halves
        the limit (the caller sees fewer records and simply asks again from the last seq)."""
        if not 1 <= limit <= 1000:
            raise BadInput(f"limit must be between 1 and 1000 (the SDK's bounds), not {limit}")
        if seq < 0:
            raise BadInput(f"seq must not be negative, got {seq}")
        while True:
            try:
                return self._with_retry("GetChatData", functools.partial(self._get_chat_data_once, seq, limit))
            except SourceError as e:
                if e.code != TOO_LARGE or limit == 1:
                    raise
                limit = max(1, limit // 2)
                log.warning("GetChatData: response too large, retrying with limit %d", limit)

    def _get_chat_data_once(self, seq: int, limit: int) -> list[EncryptedRecord]:
        text = slice_call(
            self._lib,
            "GetChatData",
            lambda s: self._lib.GetChatData(self._handle(), seq, limit, self._proxy, self._passwd, self._timeout, s),
        )
        return parse_chat_data(text)

    # ---- DecryptData ---------------------------------------------------------------------

    def decrypt_data(self, encrypt_key: str, encrypt_msg: str) -> bytes:
        """The plaintext message JSON bytes. Needs no handle: safe from any thread."""
        return decrypt_data_with(self._lib, encrypt_key, encrypt_msg)

    def body_decrypter(self) -> SdkBodyDecrypter:
        """DecryptData for a worker process (``indexer.workers``): it loads the library itself."""
        return SdkBodyDecrypter(str(self.so_path))

    # ---- GetMediaData --------------------------------------------------------------------

    def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """One chunk (≤ 512 KiB), with transient failures retried on the same indexbuf."""
        if not sdkfileid:
            raise BadInput("sdkfileid is empty")
        return self._with_retry("GetMediaData", lambda: self._get_media_once(sdkfileid, indexbuf))

    def _get_media_once(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        m = self._lib.NewMediaData()
        if not m:
            raise SourceError("GetMediaData: NewMediaData returned NULL (out of memory?)", 10003, retryable=True)
        try:
            rc = self._lib.GetMediaData(
                self._handle(),
                indexbuf.encode(),
                sdkfileid.encode(),
                self._proxy,
                self._passwd,
                self._timeout,
                m,
            )
            if rc != 0:
                raise sdk_error("GetMediaData", rc)
            data_ptr, data_len = self._lib.GetData(m), self._lib.GetDataLen(m)
            index_ptr, index_len = self._lib.GetOutIndexBuf(m), self._lib.GetIndexLen(m)
            data = C.string_at(data_ptr, data_len) if data_ptr and data_len > 0 else b""
            outindex = (
                C.string_at(index_ptr, index_len).decode("ascii", "replace") if index_ptr and index_len > 0 else ""
            )
            return MediaChunk(data=data, outindexbuf=outindex, is_finish=bool(self._lib.IsMediaDataFinish(m)))
        finally:
            self._lib.FreeMediaData(m)

    def iter_media(self, sdkfileid: str) -> Iterator[bytes]:
        """The media's chunks in order, each fetched (and retried) with the previous outindexbuf."""
        return iter_media(self, sdkfileid)

    def fetch_media(self, sdkfileid: str, *, md5sum: str = "", size: int | None = None) -> bytes:
        """The whole media file, verified against ``md5sum``/``size`` when given."""
        return fetch_media(self, sdkfileid, md5sum=md5sum, size=size)

    def directory(self) -> dict[str, Any] | None:
        return None  # the organisation is imported from a file in production

    def live_handles(self) -> int:
        with self._handles_lock:
            return len(self._handles)


# ---- helpers shared with other sources ------------------------------------------------------


def slice_call(lib: C.CDLL, function: str, call: Callable[[Any], int]) -> bytes:
    """Runs ``call(slice)`` on a fresh Slice_t and returns a copy of its bytes."""
    s = lib.NewSlice()
    if not s:
        raise SourceError(f"{function}: NewSlice returned NULL (out of memory?)", 10003, retryable=True)
    try:
        rc = call(s)
        if rc != 0:
            raise sdk_error(function, rc)
        ptr, n = lib.GetContentFromSlice(s), lib.GetSliceLen(s)
        return C.string_at(ptr, n) if ptr and n > 0 else b""
    finally:
        lib.FreeSlice(s)


def decrypt_data_with(lib: C.CDLL, encrypt_key: str, encrypt_msg: str) -> bytes:
    """DecryptData: a free function of the SDK (no handle), so any thread or process may call it."""
    try:
        key, msg = encrypt_key.encode("ascii"), encrypt_msg.encode("ascii")
    except UnicodeEncodeError:
        raise DecryptError("the random key or the ciphertext is not ASCII text", 10008) from None
    if b"\0" in key or b"\0" in msg:
        raise DecryptError("the random key or the ciphertext contains a NUL byte", 10008)
    try:
        return slice_call(lib, "DecryptData", lambda s: lib.DecryptData(key, msg, s))
    except SourceError as e:
        raise DecryptError(str(e), e.code) from None


@dataclass(frozen=True)
class SdkBodyDecrypter:
    """Picklable DecryptData: sent to worker processes, each loads the library once."""

    so_path: str

    def __call__(self, encrypt_key: str, encrypt_msg: str) -> bytes:
        return decrypt_data_with(_library(self.so_path), encrypt_key, encrypt_msg)


@functools.lru_cache(maxsize=4)
def _library(so_path: str) -> C.CDLL:
    return load_library(so_path)


def parse_chat_data(text: bytes) -> list[EncryptedRecord]:
    """Parses GetChatData's JSON, raising SourceError for a server errcode or garbage."""
    try:
        doc = json.loads(text.decode("utf-8"), strict=False)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceError(f"GetChatData returned unparsable JSON ({e}); retried", 10002, retryable=True) from e
    if not isinstance(doc, dict):
        raise SourceError("GetChatData returned JSON that is not an object; retried", 10002, retryable=True)
    errcode = int(doc.get("errcode", 0) or 0)
    if errcode != 0:
        raise server_error(errcode, str(doc.get("errmsg", "")))
    items = doc.get("chatdata") or []
    try:
        return [EncryptedRecord.from_dict(item) for item in items]
    except (KeyError, TypeError, ValueError) as e:
        raise SourceError(f"GetChatData returned a malformed chatdata item ({e!r})", 10002, retryable=True) from e
