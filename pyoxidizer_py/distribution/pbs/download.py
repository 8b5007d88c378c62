"""Download an archive over HTTP(S) or from a ``file://`` URL, verifying its sha256 while streaming.

Behaviour: the body is streamed to a partial file and hashed as it arrives;
timeouts; bounded retries with exponential backoff on connection errors, truncated bodies
and 5xx/429 answers; a partial file left by a failed attempt (or an earlier process) is
resumed with an HTTP ``Range`` request when the server answers ``206``; the file is renamed
to its destination only after the digest matches. Proxies come from the environment
(``requests`` reads ``HTTP(S)_PROXY``/``NO_PROXY``).

Progress is reported through a callback receiving ``DownloadEvent`` records
(``pyoxidizer_py.progress.download_progress`` shows them in the running stage's line).
Library code here never prints.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests

from pyoxidizer_py.errors import DistributionError, DownloadError

__all__ = [
    "OFFLINE_HINT",
    "DownloadEvent",
    "DownloadOptions",
    "ProgressCallback",
    "download_file",
    "hash_file",
]

logger = logging.getLogger(__name__)

OFFLINE_HINT = (
    "offline, pass --python-distribution host (the Python running pyoxidizer-py) or a python executable or "
    "archive path; or set PYOXIDIZER_PY_MIRROR to a mirror holding <release>/<archive>"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class DownloadOptions:
    """How hard to try.

    Attributes:
        connect_timeout: seconds to establish a connection.
        read_timeout: seconds without receiving a byte before an attempt fails.
        retries: further attempts after the first (so ``retries + 1`` in all).
        backoff: seconds before the first retry; doubled for each later one.
        chunk_size: bytes read per iteration.
        give_up_connecting: seconds after the first attempt began past which a failure to
            connect at all (refused, unknown host, no route, connect timeout) is not retried:
            with no network the command fails within about this long, while a download cut
            off mid-body is retried ``retries`` times whatever the time.
    """

    connect_timeout: float = 8.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff: float = 0.5
    chunk_size: int = 1 << 16
    give_up_connecting: float = 4.0


@dataclass(frozen=True, kw_only=True, slots=True)
class DownloadEvent:
    """A progress event.

    Attributes:
        kind: ``start`` (total may be known), ``progress``, ``retry`` (``message`` says why),
            ``done``.
        url: the URL being fetched.
        received: bytes of the file present so far (including a resumed part).
        total: expected size in bytes, or None when unknown.
        message: human text for ``retry`` events.
    """

    kind: Literal["start", "progress", "retry", "done"]
    url: str
    received: int = 0
    total: int | None = None
    message: str = ""


ProgressCallback = Callable[[DownloadEvent], None]


class _Retryable(Exception):
    """An attempt failed in a way another attempt may fix.

    Args:
        reason: short human text (``connection refused``).
        connecting: the failure happened before any answer (see ``give_up_connecting``).
    """

    def __init__(self, reason: str, *, connecting: bool = False) -> None:
        super().__init__(reason)
        self.connecting = connecting


def hash_file(path: Path, *, chunk_size: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _emit(progress: ProgressCallback | None, event: DownloadEvent) -> None:
    if progress is not None:
        progress(event)


def _stream_into(  # noqa: PLR0917 - private helper; every argument is needed per chunk
    fh: IO[bytes],
    chunks: Iterator[bytes],
    digest: hashlib._Hash,
    url: str,
    received: int,
    total: int | None,
    progress: ProgressCallback | None,
) -> int:
    last = 0.0
    for chunk in chunks:
        if not chunk:
            continue
        fh.write(chunk)
        digest.update(chunk)
        received += len(chunk)
        now = time.monotonic()
        if now - last > 0.1:
            last = now
            _emit(progress, DownloadEvent(kind="progress", url=url, received=received, total=total))
    return received


def _prime_digest(partial: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    size = 0
    with partial.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest, size


def _attempt_http(
    session: requests.Session,
    url: str,
    partial: Path,
    options: DownloadOptions,
    progress: ProgressCallback | None,
) -> hashlib._Hash:
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = session.get(
            url, headers=headers, stream=True, timeout=(options.connect_timeout, options.read_timeout)
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Retryable(_connect_reason(exc, url, options), connecting=True) from exc
    with response:
        status = response.status_code
        if status == 416 and have:
            partial.unlink()
            raise _Retryable("server refused to resume (416); restarting")
        if status >= 500 or status == 429:
            raise _Retryable(f"HTTP {status} {response.reason}")
        if status >= 400:
            raise DownloadError(
                f"cannot download {unquote(url.rsplit('/', 1)[-1])}: HTTP {status} {response.reason}\n{url}",
                hint=OFFLINE_HINT,
            )
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if status == 206:
            if not (have and response.headers.get("Content-Range", "").startswith(f"bytes {have}-")):
                partial.unlink(missing_ok=True)
                raise _Retryable("server sent an unexpected partial response; restarting")
            digest, have = _prime_digest(partial)
            mode = "ab"
            logger.info("resuming %s at byte %d", url, have)
        else:
            digest, have, mode = hashlib.sha256(), 0, "wb"
        total = have + expected if expected is not None else None
        _emit(progress, DownloadEvent(kind="start", url=url, received=have, total=total))
        try:
            with partial.open(mode) as fh:
                received = _stream_into(
                    fh, response.iter_content(options.chunk_size), digest, url, have, total, progress
                )
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retryable(f"connection lost: {_connect_reason(exc, url, options)}") from exc
        if total is not None and received != total:
            raise _Retryable(f"body truncated: got {received} of {total} bytes")
        _emit(progress, DownloadEvent(kind="done", url=url, received=received, total=total))
        return digest


def _attempt_file(
    url: str, partial: Path, options: DownloadOptions, progress: ProgressCallback | None
) -> hashlib._Hash:
    parsed = urlparse(url)
    source = Path(url2pathname(unquote(parsed.path) if not parsed.netloc else f"//{parsed.netloc}{parsed.path}"))
    try:
        total = source.stat().st_size
        src = source.open("rb")
    except OSError as exc:
        raise DistributionError(f"cannot read {url}: {exc.strerror or exc}", hint=OFFLINE_HINT) from exc
    digest = hashlib.sha256()
    _emit(progress, DownloadEvent(kind="start", url=url, received=0, total=total))
    with src, partial.open("wb") as fh:
        received = _stream_into(fh, iter(lambda: src.read(options.chunk_size), b""), digest, url, 0, total, progress)
    _emit(progress, DownloadEvent(kind="done", url=url, received=received, total=total))
    return digest


def _connect_reason(exc: BaseException, url: str, options: DownloadOptions) -> str:
    """A few words saying why a connection failed (``connection refused to 127.0.0.1:9``),
    from the operating system's error at the root of requests' and urllib3's wrappers."""
    import socket

    host = urlparse(url).netloc or url
    if isinstance(exc, requests.ConnectTimeout):
        return f"no answer from {host} within {options.connect_timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no data from {host} for {options.read_timeout:g} s"
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cause = stack.pop()
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve {urlparse(url).hostname} ({cause.strerror or cause})"
        if isinstance(cause, OSError) and cause.strerror:
            return f"{cause.strerror[:1].lower()}{cause.strerror[1:]} ({host})"
        reason = getattr(cause, "reason", None)
        nested = [reason, cause.__cause__, cause.__context__, *getattr(cause, "args", ())]
        stack.extend(e for e in nested if isinstance(e, BaseException))
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."


def download_file(
    url: str,
    sha256: str,
    dest: Path,
    *,
    partial: Path,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Fetch ``url`` into ``dest`` if and only if its sha256 is ``sha256``.

    The caller must hold a lock covering ``partial`` and ``dest`` (the cache does).

    Args:
        url: ``http://``, ``https://`` or ``file://`` URL.
        sha256: expected lowercase hex digest.
        dest: final path; written by ``os.replace`` after verification (parent created).
        partial: where bytes accumulate; an existing partial file is resumed (HTTP ranges).
        options: timeouts/retries (defaults: ``DownloadOptions()``).
        progress: receives ``DownloadEvent`` records, or None.
        session: a ``requests.Session`` to reuse, or None for a new one (proxies from the environment).

    Returns:
        ``dest``.

    Raises:
        DistributionError: the digest does not match (both digests in the message; the partial
            file is deleted and nothing is written to ``dest``), an HTTP 4xx answer, an unreadable
            ``file://`` source, an unsupported scheme, or every attempt failed (the message names
            the URL, the last reason, and how to proceed offline).
    """
    options = options or DownloadOptions()
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DistributionError(f"cannot download {url}: unsupported URL scheme {scheme!r} (use http, https or file)")
    partial.parent.mkdir(parents=True, exist_ok=True)
    own_session = session is None
    session = session or requests.Session()
    last_reason = ""
    attempts = 0
    connecting = False  # the last attempt failed before any answer
    started = time.monotonic()
    try:
        for attempt in range(options.retries + 1):
            if attempt:
                delay = options.backoff * (2 ** (attempt - 1))
                if connecting and time.monotonic() - started + delay > options.give_up_connecting:
                    break  # no network: say so now rather than after every retry
                logger.info("retrying %s in %.1fs (%s)", url, delay, last_reason)
                _emit(progress, DownloadEvent(kind="retry", url=url, message=last_reason))
                time.sleep(delay)
            attempts += 1
            try:
                if scheme == "file":
                    digest = _attempt_file(url, partial, options, progress)
                else:
                    digest = _attempt_http(session, url, partial, options, progress)
            except _Retryable as exc:
                last_reason = str(exc)
                connecting = exc.connecting
                logger.info("download of %s failed: %s", url, last_reason)
                continue
            actual = digest.hexdigest()
            if actual != sha256.lower():
                with contextlib.suppress(OSError):
                    partial.unlink()
                raise DistributionError(
                    f"sha256 mismatch for {url}: expected {sha256.lower()}, got {actual}; "
                    "the file was discarded (a tampered or wrong archive, or a wrong sha256 in the config)"
                )
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, dest)
            logger.info("downloaded %s -> %s", url, dest)
            return dest
    finally:
        if own_session:
            session.close()
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    raise DownloadError(
        f"cannot download {unquote(url.rsplit('/', 1)[-1])}: {last_reason}; gave up after {tries}\n{url}",
        hint=OFFLINE_HINT,
    )
