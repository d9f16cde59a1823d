"""Benchmark of reading Mastodon status HTML: the tokenizer's fast path against ``html.parser``.

Three contents of the kind servers write (a plain paragraph; a status with a mention, a hashtag
and a link whose parts Mastodon hides in spans; a quote's reply with its ``quote-inline``
line), each read ``--number`` times by ``cibscan.ingest.mastodon._read_html`` (the fast path)
and by the standard library's parser feeding the same reader; the median of ``--repeat``
timings, in microseconds per status, and the ratio.

Usage::

    python benchmarks/bench_mastodon_html.py

Not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import timeit

from cibscan.ingest import mastodon

CONTENTS = {
    "paragraph": "<p>Another sunny day at the lake, see you all tomorrow</p>",
    "mention, hashtag, link": (
        '<p>Hi <span class="h-card" translate="no"><a href="https://m.example/@bo" '
        'class="u-url mention">@<span>bo</span></a></span> see <a href="https://x.example/a/b?'
        'x=1&amp;y=2" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span '
        'class="invisible">https://</span><span class="ellipsis">x.example/a</span><span '
        'class="invisible">/b</span></a> &amp; <a href="https://m.example/tags/tag" '
        'class="mention hashtag" rel="tag">#<span>tag</span></a></p><p>more<br />lines</p>'
    ),
    "quote line": (
        '<p>So true</p><p class="quote-inline">RE: <a href="https://m.example/@a/1">'
        '<span class="invisible">https://</span><span class="">m.example/@a/1</span></a></p>'
    ),
}


def _parser(content: str, skip: bool) -> mastodon._Text:
    reader = mastodon._Text(skip)
    reader.feed(content)
    reader.close()
    return reader


def main() -> None:
    """Time both readers on each content and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| content | html.parser (µs) | fast path (µs) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, content in CONTENTS.items():
        skip = name == "quote line"
        fast = mastodon._read_html(content, skip_quote_inline=skip)
        slow = _parser(content, skip)
        assert (fast.parts, fast.links) == (slow.parts, slow.links), name
        assert mastodon._simple_tokens(content) is not None, name
        times = {}
        for label, run in (
            ("parser", lambda c=content, s=skip: _parser(c, s)),
            ("fast", lambda c=content, s=skip: mastodon._read_html(c, skip_quote_inline=s)),
        ):
            runs = timeit.repeat(run, number=args.number, repeat=args.repeat)
            times[label] = statistics.median(runs) / args.number * 1e6
        ratio = times["parser"] / times["fast"]
        print(f"| {name} | {times['parser']:.1f} | {times['fast']:.1f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
