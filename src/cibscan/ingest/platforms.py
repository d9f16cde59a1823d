"""Readers for the formats of peer tools and platform exports.

Each format here is detected before the generic readers (see :mod:`cibscan.ingest.formats`),
in this order; every one recognises its files from content that canonical files do not have.
The field mappings and known limits are in docs/formats.md.

=============  ==============================================================================
format         module
=============  ==============================================================================
coortweet      :mod:`cibscan.ingest.coortweet` (CSV or Parquet)
cnt-csv        :mod:`cibscan.ingest.cnt`
io-archive     :mod:`cibscan.ingest.io_archive`
ira-tweets     :mod:`cibscan.ingest.ira` (FiveThirtyEight's IRA tweets)
crowdtangle    :mod:`cibscan.ingest.crowdtangle`
mcl            :mod:`cibscan.ingest.mcl` (Meta Content Library CSV, Facebook and Instagram)
telegram       :mod:`cibscan.ingest.telegram`
cnt-json       :mod:`cibscan.ingest.cnt` (Twitter API v1.1 JSON lines)
twarc2         :mod:`cibscan.ingest.twarc` (Twitter API v2 JSON lines)
bluesky        :mod:`cibscan.ingest.bluesky` (Jetstream events, API post views)
reddit         :mod:`cibscan.ingest.reddit` (Pushshift / Arctic Shift dumps, API things)
youtube        :mod:`cibscan.ingest.youtube` (YouTube Data API comment threads)
mastodon       :mod:`cibscan.ingest.mastodon` (Mastodon API statuses)
tiktok         :mod:`cibscan.ingest.tiktok` (Research API videos, Zeeschuimer items)
=============  ==============================================================================
"""

from __future__ import annotations

from typing import Final

from cibscan.ingest.bluesky import BlueskyFormat
from cibscan.ingest.cnt import CntCsvFormat, CntJsonFormat
from cibscan.ingest.coortweet import CoortweetFormat
from cibscan.ingest.crowdtangle import CrowdtangleFormat
from cibscan.ingest.io_archive import IoArchiveFormat
from cibscan.ingest.ira import IraTweetsFormat
from cibscan.ingest.mastodon import MastodonFormat
from cibscan.ingest.mcl import MclFormat
from cibscan.ingest.readers import InputFormat
from cibscan.ingest.reddit import RedditFormat
from cibscan.ingest.telegram import TelegramFormat
from cibscan.ingest.tiktok import TiktokFormat
from cibscan.ingest.twarc import Twarc2Format
from cibscan.ingest.youtube import YoutubeFormat

__all__ = ["FORMATS"]

FORMATS: Final[list[InputFormat]] = [
    CoortweetFormat(),
    CntCsvFormat(),
    IoArchiveFormat(),
    IraTweetsFormat(),
    CrowdtangleFormat(),
    MclFormat(),
    TelegramFormat(),
    CntJsonFormat(),
    Twarc2Format(),
    BlueskyFormat(),
    RedditFormat(),
    YoutubeFormat(),
    MastodonFormat(),
    TiktokFormat(),
]
