"""URL normalisation: the item of the co-link signal.

Two links are the same item when they lead to the same page for a reader. The normalised form:

- scheme and host lower-cased; ``http`` becomes ``https``; user info and default ports removed;
- a leading ``www.``, ``m.``, ``mobile.``, ``amp.`` label removed from the host;
- Google AMP cache links (``google.com/amp/s/HOST/PATH``) and ``/amp`` path suffixes unwrapped;
- tracking parameters removed (``utm_*``, ``fbclid``, ``gclid`` and the others in
  :data:`TRACKING_PARAMS`), the remaining query parameters sorted;
- the fragment removed, a trailing ``/`` removed from non-root paths, and an empty path made ``/``.

The original URL is always kept beside the normalised one (``posts.urls_original``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "normalise_url", "url_domain"]

TRACKING_PARAMS: Final = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "smid",
        "smtyp",
        "si",
        "feature",
        "__twitter_impression",
        "mkt_tok",
        "vero_id",
        "spm",
        "wt_mc",
        "at_medium",
        "at_campaign",
        "ns_source",
        "ns_mchannel",
        "ns_campaign",
        "sr_share",
    }
)
# "s" and "t" mark the share source on Twitter/X links but are content elsewhere (a WordPress
# search is ?s=...), so they are dropped on those hosts only.
_HOST_TRACKING_PARAMS: Final = {"twitter.com": {"s", "t"}, "x.com": {"s", "t"}}
_TRACKING_PREFIXES: Final = ("utm_", "hsa_", "pk_", "mtm_", "oly_")
_HOST_PREFIXES: Final = ("www.", "m.", "mobile.", "amp.", "www1.", "www2.")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_SCHEME_RE: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_AMP_PATH_RE: Final = re.compile(r"(/amp/?|\.amp|/amp\.html)$", re.IGNORECASE)


def _strip_host(host: str) -> str:
    host = host.strip(".").lower()
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix) :]
                changed = True
    return host


@lru_cache(maxsize=1 << 16)
def normalise_url(url: str) -> str:
    """Return the normalised form of a URL (see the module docstring).

    Strings that are not absolute web URLs are returned stripped of surrounding whitespace.

    Examples
    --------
    >>> normalise_url("HTTP://WWW.Example.com:80/News/?utm_source=tw&id=3&fbclid=x#top")
    'https://example.com/News?id=3'
    >>> normalise_url("https://www.google.com/amp/s/m.example.org/a/b/amp/")
    'https://example.org/a/b'
    """
    text = url.strip()
    if not text:
        return text
    if not _SCHEME_RE.match(text):
        if text.lower().startswith("www."):
            text = "https://" + text
        else:
            return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return text
    host = _strip_host(parts.hostname or "")
    # Google's AMP cache wraps the publisher's URL: google.com/amp/s/<host>/<path>
    if host in ("google.com", "google.co.uk") and parts.path.startswith("/amp/"):
        inner = parts.path[len("/amp/") :]
        inner = inner[2:] if inner.startswith("s/") else inner
        return normalise_url("https://" + inner + (f"?{parts.query}" if parts.query else ""))
    if host.endswith(".cdn.ampproject.org") and parts.path.startswith("/c/"):
        inner = parts.path[len("/c/") :]
        inner = inner[2:] if inner.startswith("s/") else inner
        return normalise_url("https://" + inner + (f"?{parts.query}" if parts.query else ""))
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~%-._")
    path = _AMP_PATH_RE.sub("", path)
    if len(path) > 1:
        path = path.rstrip("/")
    if not path:
        path = "/"
    query_items = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS
        and not key.lower().startswith(_TRACKING_PREFIXES)
        and key.lower() not in _HOST_TRACKING_PARAMS.get(host, ())
    ]
    query = urlencode(sorted(query_items))
    return urlunsplit(("https", netloc, path, query, ""))


def url_domain(normalised: str) -> str | None:
    """Return the host of a normalised URL, or ``None`` when it has none.

    Examples
    --------
    >>> url_domain("https://example.org/a")
    'example.org'
    """
    try:
        host = urlsplit(normalised).hostname
    except ValueError:
        return None
    return host or None
