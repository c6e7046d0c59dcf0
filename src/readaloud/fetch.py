"""URLs -> page bytes saved locally: http and https only, bounded in time, redirects and size.

Every failure is one InputError line naming the address, what went wrong and
what to do; the caller reports it and goes on with the other inputs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import InputError
from .fsutil import update_bytes
from .load import decode

USER_AGENT = f"readaloud/{__version__} (text-to-speech for news; +https://pypi.org/project/readaloud/)"
MAX_BYTES = 10 * 1024 * 1024  # a news page is well under 1 MB; anything this big is something else
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
PAGE_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def is_url(text: str) -> bool:
    return re.match(r"(?i)https?://", text) is not None


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    text: str


def fetch(
    url: str,
    *,
    accept: tuple[str, ...] = PAGE_TYPES,
    max_bytes: int = MAX_BYTES,
    read_timeout: float = READ_TIMEOUT,
) -> Fetched:
    """GET one page (or feed), decoded by its declared charset, else its <meta>, else by content."""
    import httpx

    if not is_url(url):
        raise InputError(f"{url}: only http:// and https:// addresses can be fetched")
    timeout = httpx.Timeout(read_timeout, connect=min(CONNECT_TIMEOUT, read_timeout))
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(accept) + ", */*;q=0.1"}
    try:
        with (
            httpx.Client(
                follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout, headers=headers
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                reason = response.reason_phrase or "error"
                raise InputError(
                    f"{url}: the server answered {response.status_code} {reason}: check the address"
                )
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind and kind not in accept and not (accept is FEED_TYPES and kind.endswith("xml")):
                wanted = "a web page" if accept is PAGE_TYPES else "a feed"
                raise InputError(f"{url} is {kind}, not {wanted}: pass the article's HTML page")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise InputError(
                    f"{url} is {declared // 1_000_000} MB, more than a page: pass the article's page"
                )
            body = bytearray()
            for block in response.iter_bytes():
                body += block
                if len(body) > max_bytes:
                    raise InputError(
                        f"{url} sent more than {max_bytes // 1_000_000} MB, more than a page:"
                        " pass the article's page"
                    )
            charset = response.charset_encoding
            final = str(response.url)
    except httpx.TooManyRedirects:
        raise InputError(
            f"{url} redirects more than {MAX_REDIRECTS} times (a loop?): check the address"
        ) from None
    except httpx.TimeoutException:
        raise InputError(f"{url} did not answer within {read_timeout:g} s: try again later") from None
    except httpx.HTTPError as exc:
        raise InputError(
            f"{url} could not be fetched ({exc.__class__.__name__}: {exc}): check the address"
        ) from None
    return Fetched(final, kind, _decode(bytes(body), charset, url))


def _decode(body: bytes, charset: str | None, url: str) -> str:
    declared = charset
    if declared is None:
        found = _META_CHARSET.search(body[:4096])
        declared = found.group(1).decode("ascii") if found else None
    if declared:
        codec = {"gb2312": "gb18030", "gbk": "gb18030"}.get(declared.lower(), declared)
        try:
            return body.decode(codec).replace("\r\n", "\n")
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration: judge by the content instead
    return decode(body, name=url)


def save_page(fetched: Fetched, folder: Path) -> Path:
    """The page as a UTF-8 file named after its address: the same page fetched again is the same file."""
    name = hashlib.sha256(fetched.url.encode("utf-8")).hexdigest()[:20] + ".html"
    target = folder / name
    update_bytes(target, fetched.text.encode("utf-8"))  # UTF-8 now, whatever its <meta> says: read so first
    return target
