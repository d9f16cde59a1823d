"""URL normalisation: the item of the co-link signal.

Two links are the same item when they lead to the same page for a reader. The normalised form:

- scheme and host lower-cased; ``http`` becomes ``https``; user info and default ports removed;
- a leading ``www.``, ``m.``, ``mobile.``, ``amp.`` label removed from the host;
- Google AMP cache links (``google.com/amp/s/HOST/PATH``) and ``/amp`` path suffixes unwrapped;
- tracking parameters removed (``utm_*``, ``fbclid``, ``gclid`` and the others in
  :data:`TRACKING_PARAMS`), the remaining query parameters sorted;
- the fragment removed, a trailing ``/`` removed from non-root paths, and an empty path made ``/``.

The original URL is always kept beside the normalised one (``posts.urls_original``).

:func:`normalise_urls_sql` is the same function as a DuckDB SQL expression for the common, plain
ASCII URLs, so that ingest normalises millions of URLs without a Python call each; it gives
``NULL`` for every URL it does not cover, and the caller falls back to :func:`normalise_url`.
A property test holds the two to the same result.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "normalise_url",
    "normalise_url_layers",
    "normalise_urls_sql",
    "url_domain",
]

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
# Any run of trailing "/amp", ".amp", "/amp.html" and "/" goes at once: removing one suffix can
# expose another ("/a.amp/" -> "/a.amp"), and normalising must be idempotent.
_AMP_PATH_RE: Final = re.compile(r"(?:/amp\.html|/amp|\.amp|/)+$", re.IGNORECASE)


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
    try:
        return _normalise(text)
    except UnicodeEncodeError:
        return text  # lone surrogates: not a link anyone can follow, so not an item either


def _normalise(text: str) -> str:
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
        return _normalise("https://" + inner + (f"?{parts.query}" if parts.query else ""))
    if host.endswith(".cdn.ampproject.org") and parts.path.startswith("/c/"):
        inner = parts.path[len("/c/") :]
        inner = inner[2:] if inner.startswith("s/") else inner
        return _normalise("https://" + inner + (f"?{parts.query}" if parts.query else ""))
    netloc = host
    # The result is https, so 443 goes too (http://host:443 would otherwise keep a port that a
    # second normalisation removes).
    if port is not None and port not in (_DEFAULT_PORTS[scheme], 443):
        netloc = f"{host}:{port}"
    # '%' is not safe: after unquote, a '%' left is a literal one ("100%", or "%2541" decoded
    # to "%41"), and keeping it bare would let a second normalisation decode it again.
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~-._")
    path = _AMP_PATH_RE.sub("", path) or "/"
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


# The URLs the SQL form covers: http(s), an ASCII host of letters, digits and hyphens, a decimal
# port, and a path and query made only of characters that ``quote``/``urlencode`` leave as they
# are (no '%', no '+' in the query, nothing outside ASCII). On these, every step of
# normalise_url is plain string work; everything else (user info, IPv6, IDN, percent-escapes,
# whitespace, ...) falls back to Python. The fragment may hold anything: it is dropped.
_SQL_URL_RE: Final = (
    r"^(?i:(https?))://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::([0-9]{1,5}))?"
    r"(/[A-Za-z0-9/:@!$&'()*+,;=~._-]*)?(?:\?([A-Za-z0-9_.~=&-]*))?(?s:#.*)?$"
)
# Hosts whose URLs wrap another URL (AMP caches): left to Python, which unwraps them.
_SQL_WRAPPER_HOSTS: Final = ("google.com", "google.co.uk")
_SQL_WRAPPER_SUFFIX: Final = ".cdn.ampproject.org"


def _sql_lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(values: object) -> str:
    return "[" + ", ".join(_sql_lit(v) for v in sorted(values)) + "]"  # type: ignore[call-overload]


def _alternation(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words))  # type: ignore[call-overload]


def _query_kept_sql(query: str) -> str:
    """SQL: the fields of ``query`` less tracking and empty fields, in their order.

    Only for queries of the covered character set whose fields hold at most one '='. Written
    with regular expressions rather than per-field lambdas: a lambda nested in the per-URL
    lambda runs once per row, which is 20x slower.
    """
    keys = _alternation(TRACKING_PARAMS)
    prefixes = _alternation(_TRACKING_PREFIXES)
    # \x01 marks the start of every field, so that a global replace can match whole fields.
    marked = f"chr(1) || replace({query}, '&', '&' || chr(1))"
    # Tracking fields and empty fields (which parse_qsl skips) go, with their '&'.
    dropped = f"(?:(?i:{keys})|(?i:{prefixes})[^&=]*)(?:=[^&]*)?"
    kept = f"regexp_replace({marked}, '\\x01(?:{dropped})?(?:&|$)', '', 'g')"
    return f"rtrim(replace({kept}, chr(1), ''), '&')"


def _query_order_sql(fields: str) -> str:
    """SQL: ``urlencode(sorted(parse_qsl(...)))`` of kept ``fields`` (see _query_kept_sql).

    Each field holds at most one '=', so every field has one exactly when the '=' outnumber the
    '&' by one; only otherwise does a field without '=' get one ("a" -> "a="). A single field
    needs no sort.
    """
    equals = f"(length({fields}) - length(replace({fields}, '=', '')))"
    amps = f"(length({fields}) - length(replace({fields}, '&', '')))"
    marked = f"chr(1) || replace({fields}, '&', '&' || chr(1))"
    blank = (
        f"replace(regexp_replace({marked}, '\\x01([^&=]*)(&|$)', chr(1) || '\\1=\\2', 'g'),"
        " chr(1), '')"
    )

    # Sorting "key\x02value" strings orders fields as sorting (key, value) pairs does.
    def ordered(text: str) -> str:
        return (
            "replace(array_to_string(list_sort(string_split("
            f"replace({text}, '=', chr(2)), '&'), 'ASC', 'NULLS FIRST'), '&'), chr(2), '=')"
        )

    return (
        f"CASE WHEN {fields} = '' THEN ''"
        f" WHEN {equals} = {amps} + 1 THEN"
        f" (CASE WHEN {amps} = 0 THEN {fields} ELSE {ordered(fields)} END)"
        f" ELSE {ordered(blank)} END"
    )


#: The parameter name of the SQL steps (see :func:`_url_steps`); it occurs in no literal.
_STEP: Final = "_cb_url"


def _url_steps(fallback: str | None) -> list[str]:
    """The SQL form of :func:`normalise_url`, as successive steps over ``_cb_url``.

    The first step reads ``_cb_url`` as the URL string; each later step reads it as the struct
    the previous step made; the last gives the normalised URL, or ``fallback(url)`` (``NULL``
    without one) for a URL the SQL does not cover. Applied to lists with ``list_transform``
    (:func:`normalise_urls_sql`) or to one URL per row as successive projections
    (:func:`normalise_url_layers`).
    """
    x = _STEP
    prefix_labels = "|".join(p.rstrip(".") for p in _HOST_PREFIXES)
    parsed = (
        f"{{'u': {x}, 'm': regexp_extract({x}, "
        f"{_sql_lit(_SQL_URL_RE)}, ['scheme', 'host', 'port', 'path', 'query'])}}"
    )
    # Leading www./m./... labels go while two labels remain (as in _strip_host): the greedy
    # run of prefixes backs off until what follows still has a dot.
    host = (
        f"CASE WHEN contains({x}.m.host, '.') THEN regexp_extract(lower({x}.m.host),"
        f" '^(?:(?:{prefix_labels})\\.)*(.+\\..+)$', 1) ELSE lower({x}.m.host) END"
    )
    port = f"TRY_CAST({x}.m.port AS INTEGER)"
    default_port = f"(CASE WHEN lower({x}.m.scheme) = 'http' THEN 80 ELSE 443 END)"
    covered = (
        f"{x}.m.scheme <> '' AND ({x}.m.port = '' OR {port} <= 65535)"
        f" AND NOT regexp_matches({x}.m.query, '=[^&]*=')"
    )
    split = (
        f"{{'u': {x}.u, 'ok': {covered}, 'host': {host},"
        f" 'port': CASE WHEN {x}.m.port = '' OR {port} IN ({default_port}, 443) THEN ''"
        f" ELSE ':' || CAST({port} AS VARCHAR) END,"
        f" 'path': regexp_replace({x}.m.path, {_sql_lit(_AMP_PATH_RE.pattern)}, '', 'i'),"
        f" 'query': {x}.m.query}}"
    )
    wrapper = (
        f"list_contains({_sql_list(_SQL_WRAPPER_HOSTS)}, {x}.host)"
        f" OR ends_with({x}.host, {_sql_lit(_SQL_WRAPPER_SUFFIX)})"
    )
    parts = (
        f"{{'u': {x}.u, 'ok': {x}.ok AND NOT ({wrapper}),"
        f" 'host': {x}.host, 'netloc': {x}.host || {x}.port, 'path': {x}.path,"
        f" 'query': CASE WHEN {x}.query = '' THEN '' ELSE {_query_kept_sql(f'{x}.query')} END}}"
    )
    ordered = (
        f"{{'u': {x}.u, 'ok': {x}.ok, 'host': {x}.host, 'netloc': {x}.netloc, 'path': {x}.path,"
        f" 'query': {_query_order_sql(f'{x}.query')}}}"
    )
    steps = [parsed, split, parts, ordered]
    # The query is cleaned by one copy of the general rule (each regular expression costs time
    # in every vector); the few hosts with extra tracking keys then drop those fields from the
    # cleaned, sorted "key=value" query, which keeps it sorted.
    by_keys: dict[frozenset[str], list[str]] = {}
    for h, keys in _HOST_TRACKING_PARAMS.items():
        by_keys.setdefault(frozenset(keys), []).append(h)
    host_specific = " ".join(
        f"WHEN list_contains({_sql_list(hosts)}, {x}.host) THEN ltrim(regexp_replace({x}.query,"
        f" '(?:^|&)(?i:{_alternation(keys)})=[^&]*', '', 'g'), '&')"
        for keys, hosts in sorted(by_keys.items(), key=lambda kv: sorted(kv[1]))
    )
    if host_specific:
        steps.append(
            f"{{'u': {x}.u, 'ok': {x}.ok, 'netloc': {x}.netloc, 'path': {x}.path,"
            f" 'query': CASE WHEN {x}.query = '' THEN '' {host_specific} ELSE {x}.query END}}"
        )
    other = "NULL" if fallback is None else f"{fallback}({x}.u)"
    steps.append(
        f"CASE WHEN {x}.ok THEN 'https://' || {x}.netloc"
        f" || CASE WHEN {x}.path = '' THEN '/' ELSE {x}.path END"
        f" || CASE WHEN {x}.query = '' THEN '' ELSE '?' || {x}.query END ELSE {other} END"
    )
    return steps


def normalise_urls_sql(urls: str, fallback: str | None = None) -> str:
    """Return a DuckDB expression applying :func:`normalise_url` to each URL of a list.

    Parameters
    ----------
    urls
        A SQL expression of type ``VARCHAR[]``.
    fallback
        The SQL name of a scalar function (``normalise_url`` registered with
        ``create_function``) for the URLs outside the plain-ASCII subset the SQL covers; with
        ``None`` those elements are ``NULL``. Where the SQL gives a value it equals
        ``normalise_url(url)``, which ``tests/test_urls.py`` checks on generated URLs.

    Examples
    --------
    >>> import duckdb
    >>> sql = normalise_urls_sql("['HTTP://www.Example.com:80/a/?b=2&a=1', 'mailto:x']")
    >>> duckdb.execute("SELECT " + sql).fetchall()
    [(['https://example.com/a?a=1&b=2', None],)]
    """
    # Each step is a list_transform whose lambda uses only its own argument, so that DuckDB
    # runs it over all the URLs of a vector at once (a Python fallback makes it list by list).
    expr = urls
    for step in _url_steps(fallback):
        expr = f"list_transform({expr}, lambda {_STEP}: {step})"
    return expr


def normalise_url_layers(url: str, prefix: str) -> list[tuple[str, str]]:
    """The SQL form of :func:`normalise_url` for one URL per row, as successive columns.

    Returns ``(column, expression)`` pairs to add in successive projections (each expression
    reads the previous column); the last column holds the normalised URL, or ``NULL`` where the
    SQL does not cover ``url`` (or ``url`` is NULL). Cheaper than :func:`normalise_urls_sql` on a
    one-element list: no lambda, so every regular expression is compiled once per query.

    Examples
    --------
    >>> import duckdb
    >>> sql = "SELECT 'HTTP://m.Example.com/a?utm_source=x' AS u0"
    >>> for name, expr in normalise_url_layers("u0", "_n"):
    ...     sql = f"SELECT *, {expr} AS {name} FROM ({sql})"
    >>> duckdb.execute(f"SELECT _n5 FROM ({sql})").fetchall()
    [('https://example.com/a',)]
    """
    layers: list[tuple[str, str]] = []
    previous = f"({url})"
    pattern = re.compile(rf"\b{_STEP}\b")
    for i, step in enumerate(_url_steps(None)):
        name = f"{prefix}{i}"
        body = pattern.sub(previous.replace("\\", "\\\\"), step)
        # Rows without a URL (most) skip the step's functions: CASE evaluates its ELSE on the
        # other rows only.
        layers.append((name, f"CASE WHEN {previous} IS NULL THEN NULL ELSE {body} END"))
        previous = name
    return layers
