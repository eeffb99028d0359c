"""Fetch a report from an http(s) URL (used by `corridor extract URL`; tests serve pages on loopback)."""

from __future__ import annotations

import httpx

from corridor import __version__
from corridor.ingest.reader import InputError, RawDocument, read_bytes


def fetch_url(url: str, max_bytes: int | None = None, timeout: float = 20.0) -> list[RawDocument]:
    try:
        with (
            httpx.Client(
                follow_redirects=True, timeout=timeout, headers={"User-Agent": f"corridor/{__version__}"}
            ) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code >= 400:
                raise InputError(f"{url}: HTTP {resp.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise InputError(f"{url}: larger than the {max_bytes / 1e6:.1f} MB limit per document")
                chunks.append(chunk)
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise InputError(f"{url}: cannot fetch ({exc})") from exc
    return list(read_bytes(b"".join(chunks), url=url, max_bytes=max_bytes))
