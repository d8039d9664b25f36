"""One file from an HTTP(S) mirror into a local path: resumable, retried, verified.

The bytes go to ``<dest>.part`` first. A later attempt (or a later run) asks for the rest with
``Range: bytes=<size of .part>-``; a server that ignores Range (answers 200) is read from the
start again. Connection errors, timeouts, 408/429/5xx answers and bodies shorter than their
Content-Length are retried with exponential backoff (the count resets whenever bytes arrived);
other HTTP errors are final. A complete ``.part`` is checked against the mirror's checksum and
only then renamed to ``dest``, so ``dest`` existing means it was verified once. A checksum
mismatch deletes the download and fetches it again, a bounded number of times.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from genoflight.fetch import FetchError
from genoflight.fetch.checksum import Expected, verify

__all__ = [
    "DownloadResult",
    "FileProgress",
    "RetryPolicy",
    "download",
    "fetch_text",
    "part_path",
]

CHUNK = 1 << 20


def _user_agent() -> str:
    import genoflight

    return f"genoflight/{genoflight.__version__} (genoflight fetch)"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts``: consecutive failures without a new byte before giving up;
    ``backoff_s`` doubles after each of them (capped, with jitter); ``verify_attempts``: whole
    downloads of a file whose checksum does not match before giving up."""

    attempts: int = 6
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0
    verify_attempts: int = 3

    def delay(self, failures: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * 2 ** max(0, failures - 1))
        return base * random.uniform(0.75, 1.25)


class FileProgress(Protocol):
    """What :func:`download` reports as it goes (see :mod:`genoflight.fetch.progress`)."""

    def start(self, total: int | None, already: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def restart(self) -> None: ...
    def status(self, text: str) -> None: ...
    def wait(self, seconds: float) -> None: ...  # the pause before a retry


class _Transient(Exception):
    """A failure worth retrying (the message says what happened)."""


class _Missing(FetchError):
    """The mirror has no such file (HTTP 403/404/410)."""


@dataclass(frozen=True)
class DownloadResult:
    bytes_received: int
    resumed_from: int  # size of the .part this run started from (0: a fresh download)
    verified: bool  # False: the mirror gave no checksum for the file


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download(
    url: str,
    dest: Path,
    *,
    expected: Expected | None,
    policy: RetryPolicy,
    progress: FileProgress,
) -> DownloadResult:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part``), verified against ``expected``."""
    part = part_path(dest)
    resumed_from = part.stat().st_size if part.exists() else 0
    received = 0
    mismatches: list[str] = []
    for _ in range(max(1, policy.verify_attempts)):
        received += _fetch_part(url, part, policy, progress)
        if expected is not None:
            progress.status("verifying")
            actual = verify(part, expected)
            if actual is not None:
                # Corrupt (or the .part of an older, different file): never resume from it.
                mismatches.append(actual)
                part.unlink(missing_ok=True)
                progress.restart()
                progress.status("checksum mismatch, fetching again")
                continue
        os.replace(part, dest)
        return DownloadResult(received, resumed_from, expected is not None)
    raise FetchError(
        f"{dest.name}: downloaded {len(mismatches)} times and the checksum never matched "
        f"(expected {expected.describe() if expected else '?'}, got {', '.join(mismatches)}); "
        f"the mirror's copy may be corrupt or being replaced: retry later or use another "
        f"mirror (--base-url)"
    )


def _fetch_part(url: str, part: Path, policy: RetryPolicy, progress: FileProgress) -> int:
    """Complete ``part`` from ``url``; the number of bytes received."""
    failures = 0
    received = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            received += _attempt(url, part, before, policy, progress)
            return received
        except _Transient as e:
            after = part.stat().st_size if part.exists() else 0
            received += max(0, after - before)
            failures = 1 if after > before else failures + 1
            if failures >= policy.attempts:
                raise FetchError(
                    f"{url}: {e}; gave up after {failures} attempts in a row: check the network "
                    f"and the mirror, then rerun (the download resumes from {after} bytes)"
                ) from None
            progress.status(f"retrying: {e}")
            progress.wait(policy.delay(failures))


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, complete length) from a Content-Range header value."""
    m = _CONTENT_RANGE.match(value or "")
    if m is None:
        return None, None
    first = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(3)) if m.group(3) != "*" else None
    return first, total


def _open(url: str, headers: dict[str, str], timeout: float) -> http.client.HTTPResponse:
    """GET ``url``; HTTP errors become _Transient (retryable) or FetchError (final)."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(
            f"{url}: only http:// and https:// mirrors are supported "
            f"(Ensembl's FTP site is also https://ftp.ensembl.org/pub/)"
        )
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), **headers})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code in (408, 429) or e.code >= 500:
            raise _Transient(f"HTTP {e.code} {e.reason}") from None
        if e.code == 416:
            raise  # handled by the caller, which knows the offset
        if e.code in (403, 404, 410):
            raise _Missing(
                f"{url}: HTTP {e.code} {e.reason} (not on the mirror: check --base-url, "
                f"--release and --species)"
            ) from None
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", None) or e
        raise _Transient(f"cannot connect: {reason}") from None


def _attempt(url: str, part: Path, offset: int, policy: RetryPolicy, progress: FileProgress) -> int:
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = _open(url, headers, policy.timeout_s)
    except urllib.error.HTTPError as e:  # 416: nothing left at or after `offset`
        _, total = _content_range(e.headers.get("Content-Range"))
        if total is not None and total == offset:
            return 0  # the .part is already complete
        part.unlink(missing_ok=True)
        progress.restart()
        raise _Transient("the partial download is longer than the file; starting over") from None
    with response:
        length = response.headers.get("Content-Length")
        body = int(length) if length is not None and length.isdigit() else None
        if response.status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first != offset:
                part.unlink(missing_ok=True)
                progress.restart()
                raise _Transient(f"asked for bytes from {offset}, got a range from {first}")
            mode = "ab"
        elif response.status == 200:
            if offset:
                progress.restart()  # the server ignores Range: the whole file comes again
            offset, total, mode = 0, body, "wb"
        else:
            raise _Transient(f"unexpected answer HTTP {response.status}")
        progress.start(total, offset)
        received = 0
        # Network errors are worth retrying; local ones (disk full) are final.
        with part.open(mode) as f:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    lost = offset + received
                    raise _Transient(f"connection lost after {lost} bytes ({e})") from None
                if not chunk:
                    break
                try:
                    f.write(chunk)
                except OSError as e:
                    raise FetchError(
                        f"{part}: cannot write ({e.strerror or e}): free disk space or choose "
                        f"another OUT, then rerun to resume"
                    ) from None
                received += len(chunk)
                progress.advance(len(chunk))
        if body is not None and received < body:
            raise _Transient(
                f"connection closed after {offset + received} of {offset + body} bytes"
            )
        return received


def fetch_text(url: str, policy: RetryPolicy, *, missing_ok: bool = False) -> str | None:
    """A small text file (a listing, CHECKSUMS, an .md5), retried like downloads.

    With ``missing_ok``, a 404/403/410 gives None instead of an error."""
    failures = 0
    while True:
        try:
            with _open(url, {}, policy.timeout_s) as response:
                data = response.read()
                length = response.headers.get("Content-Length")
                if length is not None and length.isdigit() and len(data) < int(length):
                    raise _Transient(f"connection closed after {len(data)} of {length} bytes")
            return data.decode("utf-8", "replace")
        except _Missing:
            if missing_ok:
                return None
            raise
        except urllib.error.HTTPError as e:  # 416 cannot happen without Range
            raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from None
        except (_Transient, OSError, http.client.HTTPException) as e:
            failures += 1
            if failures >= policy.attempts:
                raise FetchError(
                    f"{url}: {e}; gave up after {failures} attempts: check the network and the "
                    f"mirror URL"
                ) from None
            time.sleep(policy.delay(failures))
