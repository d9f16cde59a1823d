"""URL normalisation: one case per rule, the SQL form against the Python one, and properties."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cibscan.ingest.urls import normalise_url, normalise_url_layers, normalise_urls_sql, url_domain

RULES = [
    # scheme and host case; http -> https
    ("scheme and host lower-cased", "HTTPS://EXAMPLE.COM/Path", "https://example.com/Path"),
    ("http becomes https", "http://example.com/a", "https://example.com/a"),
    # ports
    ("default http port", "http://example.com:80/a", "https://example.com/a"),
    ("default https port", "https://example.com:443/a", "https://example.com/a"),
    ("443 is https's default", "http://example.com:443/a", "https://example.com/a"),
    ("80 is not https's default", "https://example.com:80/a", "https://example.com:80/a"),
    ("other ports kept", "https://example.com:8080/a", "https://example.com:8080/a"),
    ("leading zeros of a port", "https://example.com:0080/", "https://example.com:80/"),
    ("user info removed", "https://user:pw@example.com/a", "https://example.com/a"),
    # host prefixes
    ("www removed", "https://www.example.com/a", "https://example.com/a"),
    ("m removed", "https://m.example.com/a", "https://example.com/a"),
    ("mobile removed", "https://mobile.twitter.com/a", "https://twitter.com/a"),
    ("amp host removed", "https://amp.example.com/a", "https://example.com/a"),
    ("www1 removed", "https://www1.example.com/a", "https://example.com/a"),
    ("prefixes stacked", "https://www.m.example.co.uk/a", "https://example.co.uk/a"),
    ("two labels always kept", "https://www.com/", "https://www.com/"),
    ("prefix only while two remain", "https://www.m.com/", "https://m.com/"),
    ("trailing dot of a host", "https://example.com./a", "https://example.com/a"),
    ("scheme-less www", "www.example.com/a", "https://example.com/a"),
    # AMP
    (
        "google AMP cache",
        "https://www.google.com/amp/s/www.example.org/a/",
        "https://example.org/a",
    ),
    ("google AMP without s/", "https://google.co.uk/amp/example.org/a", "https://example.org/a"),
    (
        "ampproject cache",
        "https://example-org.cdn.ampproject.org/c/s/example.org/a",
        "https://example.org/a",
    ),
    ("/amp suffix", "https://example.com/news/1/amp", "https://example.com/news/1"),
    ("/amp/ suffix", "https://example.com/news/1/AMP/", "https://example.com/news/1"),
    (".amp suffix", "https://example.com/news/1.amp", "https://example.com/news/1"),
    ("/amp.html suffix", "https://example.com/news/1/amp.html", "https://example.com/news/1"),
    ("amp suffixes stacked", "https://example.com/a.amp/amp/", "https://example.com/a"),
    ("amp inside a word kept", "https://example.com/camp", "https://example.com/camp"),
    # tracking parameters
    ("utm_* removed", "https://e.com/a?utm_source=x&UTM_Medium=y&id=1", "https://e.com/a?id=1"),
    ("fbclid removed", "https://e.com/a?fbclid=abc&id=1", "https://e.com/a?id=1"),
    ("gclid removed", "https://e.com/a?id=1&GCLID=abc", "https://e.com/a?id=1"),
    (
        "twitter s and t",
        "https://twitter.com/u/status/1?s=20&t=abc",
        "https://twitter.com/u/status/1",
    ),
    (
        "x.com s and t",
        "https://x.com/u/status/1?t=abc&s=09&lang=en",
        "https://x.com/u/status/1?lang=en",
    ),
    ("s kept on other hosts", "https://blog.org/?s=search", "https://blog.org/?s=search"),
    ("all parameters tracking", "https://e.com/a?utm_source=x", "https://e.com/a"),
    # query
    ("query sorted", "https://e.com/a?b=2&a=1&a=0", "https://e.com/a?a=0&a=1&b=2"),
    ("sorted by key, then value", "https://e.com/?a1=x&a=y", "https://e.com/?a=y&a1=x"),
    ("blank value kept", "https://e.com/?flag&b=", "https://e.com/?b=&flag="),
    ("empty fields dropped", "https://e.com/?a=1&&b=2&", "https://e.com/?a=1&b=2"),
    ("'=' in a value quoted", "https://e.com/?a=b=c", "https://e.com/?a=b%3Dc"),
    ("'+' is a space", "https://e.com/?q=a+b&r=a%20b", "https://e.com/?q=a+b&r=a+b"),
    # fragment, trailing slash, empty path
    ("fragment removed", "https://e.com/a#section", "https://e.com/a"),
    ("fragment after query", "https://e.com/a?x=1#y?z", "https://e.com/a?x=1"),
    ("trailing slash removed", "https://e.com/a/b/", "https://e.com/a/b"),
    ("trailing slashes removed", "https://e.com/a//", "https://e.com/a"),
    ("empty path is /", "https://e.com", "https://e.com/"),
    ("root kept", "https://e.com/", "https://e.com/"),
    ("empty path with query", "https://e.com?x=1", "https://e.com/?x=1"),
    # path escapes
    ("escapes decoded where safe", "https://e.com/%7Euser/%41", "https://e.com/~user/A"),
    ("spaces quoted", "https://e.com/a b", "https://e.com/a%20b"),
    ("literal % quoted", "https://e.com/100%", "https://e.com/100%25"),
    (
        "non-ASCII path quoted",
        "https://e.com/ایران",
        "https://e.com/%D8%A7%DB%8C%D8%B1%D8%A7%D9%86",
    ),
    # not web URLs: returned stripped, unchanged
    ("surrounding whitespace stripped", "  https://e.com/a \n", "https://e.com/a"),
    ("mailto unchanged", "mailto:someone@example.com", "mailto:someone@example.com"),
    ("ftp unchanged", "ftp://Example.com/A", "ftp://Example.com/A"),
    ("plain text unchanged", "not a url", "not a url"),
    ("empty string", "", ""),
    # malformed: no exception, text returned
    ("bad port", "https://e.com:99999/a", "https://e.com:99999/a"),
    ("non-numeric port", "https://e.com:abc/a", "https://e.com:abc/a"),
    ("unclosed IPv6", "http://[::1/a", "http://[::1/a"),
    ("lone surrogate", "https://e.com/\ud800", "https://e.com/\ud800"),
]


@pytest.mark.parametrize(("name", "url", "expected"), RULES, ids=[r[0] for r in RULES])
def test_rule(name: str, url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def sql_normalise(urls: list[str]) -> list[str | None]:
    """The SQL form, without fallback: ``None`` where it leaves the URL to Python.

    Both SQL forms are run: the list form and the one-URL-per-row columns must agree.
    """
    row = duckdb.execute("SELECT " + normalise_urls_sql("?::VARCHAR[]"), [urls]).fetchone()
    assert row is not None
    listed = list(row[0])
    sql = "SELECT unnest(?::VARCHAR[]) AS u, generate_subscripts(?::VARCHAR[], 1) AS i"
    layers = normalise_url_layers("u", "_n")
    for name, expr in layers:
        sql = f"SELECT *, {expr} AS {name} FROM ({sql})"
    rows = duckdb.execute(f"SELECT {layers[-1][0]} FROM ({sql}) ORDER BY i", [urls, urls])
    assert [r[0] for r in rows.fetchall()] == listed
    return listed


def test_sql_agrees_with_python_on_the_rules() -> None:
    urls = [url for _, url, _ in RULES if "\ud800" not in url]  # DuckDB holds only UTF-8
    for url, got in zip(urls, sql_normalise(urls), strict=True):
        assert got is None or got == normalise_url(url), url


PLAIN = [
    "https://www.example.com/a/b/?utm_source=tw&id=3",
    "HTTP://M.Example.com:80/News/amp/",
    "https://mobile.twitter.com/u/status/1?s=20&t=x&lang=en",
    "https://e.com/a?b=2&a=1#frag with spaces",
    "https://e.com",
    "https://e.com:8443/x;y=z/'a'(b)*c!$,@:+~",
]


def test_sql_covers_plain_urls() -> None:
    """Plain ASCII links, the bulk of real data, must not need the Python fallback."""
    assert sql_normalise(PLAIN) == [normalise_url(u) for u in PLAIN]


def test_sql_fallback_function() -> None:
    con = duckdb.connect()
    con.create_function("py_normalise", normalise_url, ["VARCHAR"], "VARCHAR")
    urls = ["https://e.com/%41", "https://www.google.com/amp/s/e.org/a", "https://e.com/"]
    sql = normalise_urls_sql("u", "py_normalise")
    row = con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR[] AS u)", [urls])
    assert row.fetchone() == ([normalise_url(u) for u in urls],)


def test_url_domain() -> None:
    assert url_domain("https://example.org:8080/a") == "example.org"
    assert url_domain("not a url") is None
    assert url_domain("http://[::1") is None


# -- properties --------------------------------------------------------------------------------

_LABELS = [
    "www",
    "m",
    "mobile",
    "amp",
    "www1",
    "www2",
    "Example",
    "twitter",
    "x",
    "google",
    "co",
    "uk",
    "com",
    "cdn",
    "ampproject",
    "a-b",
    "xn--p1ai",
    "ex_ample",
    "ایران",
    "9",
]
_SEGMENTS = [
    "a",
    "amp",
    "AMP",
    "amp.html",
    "x.amp",
    "",
    "%41",
    "%2F",
    "%25",
    "%zz",
    "100%",
    "a+b",
    "a b",
    "é",
    "~u",
    "x;y=z",
    "'q'",
    ".",
    "..",
    "c@d:e",
]
_KEYS = [
    "id",
    "a",
    "A",
    "a1",
    "s",
    "t",
    "utm_source",
    "UTM_x",
    "fbclid",
    "gclid",
    "Si",
    "q",
    "",
    "k+",
    "k%20",
    "é",
]
_VALUES = ["", "1", "x=y", "a+b", "%3D", "%zz", "é", "1&", " "]


@st.composite
def url_like(draw: st.DrawFn) -> str:
    """URL-shaped strings mixing the pieces every rule looks at, with noise."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "", "www."]))
    host = ".".join(draw(st.lists(st.sampled_from(_LABELS), min_size=1, max_size=4)))
    user = draw(st.sampled_from(["", "", "user@", "u:p@"]))
    port = draw(st.sampled_from(["", "", ":80", ":443", ":08080", ":99999", ":x", ":"]))
    path = "".join("/" + s for s in draw(st.lists(st.sampled_from(_SEGMENTS), max_size=4)))
    path += draw(st.sampled_from(["", "", "/", "//"]))
    fields = draw(
        st.lists(
            st.tuples(st.sampled_from(_KEYS), st.sampled_from(["=", ""]), st.sampled_from(_VALUES)),
            max_size=5,
        )
    )
    query = ("?" + "&".join(k + eq + v for k, eq, v in fields)) if fields else ""
    fragment = draw(st.sampled_from(["", "", "#top", "#a?b=c", "#x y"]))
    prefix = "" if scheme == "www." else (scheme + "://" if scheme else "")
    url = f"{prefix}{user}{host}{port}{path}{query}{fragment}"
    noise = draw(st.sampled_from(["", "", "", " ", "\t", "\n", "\u200b", "é"]))
    where = draw(st.integers(0, len(url)))
    return url[:where] + noise + url[where:]


@given(st.text())
@settings(max_examples=400, deadline=None)
@example("https://e.com/%2541")
@example("https://e.com/a.amp/")
@example("https://e.com/a/amp/amp")
def test_normalise_is_idempotent_on_any_text(text: str) -> None:
    once = normalise_url(text)
    assert normalise_url(once) == once


@given(url_like())
@settings(max_examples=400, deadline=None)
def test_normalise_is_idempotent_on_urls(url: str) -> None:
    once = normalise_url(url)
    assert normalise_url(once) == once


@given(st.text(alphabet=st.characters(codec=None), max_size=200))
@settings(max_examples=400, deadline=None)
def test_normalise_never_raises(text: str) -> None:
    assert isinstance(normalise_url(text), str)


@given(st.lists(url_like(), min_size=1, max_size=50))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sql_agrees_with_python(urls: list[str]) -> None:
    for url, got in zip(urls, sql_normalise(urls), strict=True):
        assert got is None or got == normalise_url(url), url
