"""Synthetic cases with a known answer: an organic background plus planted operations.

A scenario is a set of canonical tables (:mod:`cibscan.schema`) and a ``labels`` table that says,
for every account, which operation runs it (or ``organic``) and what part it plays. The organic
background carries the confounders that fool coordination detectors: breaking-news crowds, news
bots posting the same feeds, fan hashtag campaigns and ordinary users sharing the same popular
links. The planted operations are:

``office``
    About 300 assets (user accounts, Pages, Groups) run by one staff in one office (UTC+1,
    weekdays, 09:00-17:30 with a lunch pause): copy-paste with light edits, fast mutual shares,
    hashtag flooding, attack replies to one target, long-form personas written by several staff.
``botnet``
    An amplification ring that reshares each seed post within seconds, round the clock.
``stealth``
    Paraphrased messages and reshares minutes apart, organic-looking filler, a blurred rhythm.
``mixed``
    All three at once.

Generation is vectorised NumPy, seeded by one integer: the same seed and configuration give
byte-identical output files. Nothing here is tuned to a detector; see ``docs/synth.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from cibscan.errors import ConfigError
from cibscan.export import atomic_path
from cibscan.schema import POST_KINDS, TABLES

__all__ = [
    "SCENARIOS",
    "OutputFormat",
    "Platform",
    "Scenario",
    "ScenarioName",
    "SynthConfig",
    "arrow_schema",
    "generate",
    "normalize_url",
    "write_scenario",
]

ScenarioName = Literal["office", "botnet", "stealth", "mixed"]
Platform = Literal["twitter", "facebook"]
OutputFormat = Literal["parquet", "csv"]

#: The scenario names :func:`generate` accepts.
SCENARIOS: Final[tuple[str, ...]] = get_args(ScenarioName)

Arr = npt.NDArray[Any]
Rng = np.random.Generator

_DAY_MS: Final = 86_400_000
_HOUR_MS: Final = 3_600_000
_MIN_MS: Final = 60_000
#: Twitter's snowflake epoch (2010-11-04T01:42:54.657Z), used for every id.
_SNOWFLAKE_EPOCH_MS: Final = 1_288_834_974_657
_KIND_CODE: Final = {k: i for i, k in enumerate(POST_KINDS)}
_POST, _SHARE, _REPLY, _QUOTE = (_KIND_CODE[k] for k in ("post", "share", "reply", "quote"))


# --------------------------------------------------------------------------------------------
# Configuration and result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthConfig:
    """The scale knobs of a synthetic case; validated when built.

    Parameters
    ----------
    accounts
        Organic accounts (the background, news bots and fans included). Operations add theirs.
    days
        Length of the observed window in days.
    posts
        Approximate total number of posts; the organic background takes what the operations and
        confounders leave.
    start
        First day of the window, ``YYYY-MM-DD`` (00:00 UTC).
    platform
        ``twitter`` or ``facebook``; ``None`` picks the scenario's own (``facebook`` for
        ``office`` and ``mixed``, ``twitter`` otherwise).
    office_assets
        Assets of the ``office`` operation (user accounts, Pages and Groups).
    botnet_accounts
        Accounts of the ``botnet`` ring (seeds and amplifiers).
    stealth_accounts
        Accounts of the ``stealth`` operation.

    Examples
    --------
    >>> SynthConfig(accounts=1000, days=7, posts=20_000).days
    7
    """

    accounts: int = 5000
    days: int = 14
    posts: int = 200_000
    start: str = "2024-03-04"
    platform: Platform | None = None
    office_assets: int = 300
    botnet_accounts: int = 100
    stealth_accounts: int = 40

    def __post_init__(self) -> None:
        limits = {
            "accounts": (200, 10_000_000),
            "days": (1, 366),
            "posts": (1000, 1_000_000_000),
            "office_assets": (30, 100_000),
            "botnet_accounts": (10, 100_000),
            "stealth_accounts": (10, 100_000),
        }
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"synth config {name}={value!r}: must be an integer")
            if not low <= value <= high:
                raise ConfigError(f"synth config {name}={value}: must be between {low} and {high}")
        if self.posts < self.accounts:
            raise ConfigError(
                f"synth config posts={self.posts}: must be at least accounts={self.accounts} "
                "(raise --posts or lower --accounts)"
            )
        try:
            dt.date.fromisoformat(self.start)
        except (TypeError, ValueError):
            raise ConfigError(
                f"synth config start={self.start!r}: not a date; use YYYY-MM-DD"
            ) from None
        if self.platform not in (None, *get_args(Platform)):
            raise ConfigError(
                f"synth config platform={self.platform!r}: use 'twitter' or 'facebook'"
            )

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as plain JSON-compatible data."""
        return asdict(self)


@dataclass(frozen=True)
class Scenario:
    """A generated case: the canonical tables plus the labels that say who is who.

    Attributes
    ----------
    name, seed, config
        What was generated, and how.
    platform
        The platform the ids and texts imitate.
    posts, accounts, memberships, infra, labels
        Arrow tables with exactly the columns and types of :data:`cibscan.schema.TABLES`.
    """

    name: str
    seed: int
    config: SynthConfig
    platform: str
    posts: pa.Table
    accounts: pa.Table
    memberships: pa.Table
    infra: pa.Table
    labels: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        """Return the five tables by their canonical names."""
        return {
            "posts": self.posts,
            "accounts": self.accounts,
            "memberships": self.memberships,
            "infra": self.infra,
            "labels": self.labels,
        }


def arrow_schema(table: str) -> pa.Schema:
    """Return the Arrow schema of a canonical table (timestamps as microseconds in UTC).

    Examples
    --------
    >>> arrow_schema("labels").names
    ['account_id', 'label', 'role', 'source']
    """
    types = {
        "VARCHAR": pa.string(),
        "BIGINT": pa.int64(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "VARCHAR[]": pa.list_(pa.string()),
    }
    return pa.schema([(name, types[typ]) for name, typ in TABLES[table].items()])


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------

_TRACKING_PARAMS: Final = frozenset({"fbclid", "gclid", "igshid", "ref_src", "s"})


def normalize_url(url: str) -> str:
    """Return the normal form of a URL as the synthetic ``posts.urls`` column holds it.

    The scheme becomes ``https``, the host is lowercased and loses a leading ``www.`` and a
    default port, ``utm_*`` and click-tracking parameters and the fragment are dropped; the path
    and the other parameters are kept as written.

    Examples
    --------
    >>> normalize_url("http://WWW.Example.com/a/B?utm_source=tw&id=3#top")
    'https://example.com/a/B?id=3'
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port not in (None, 80, 443):
        host = f"{host}:{parts.port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    return urlunsplit(("https", host, parts.path or "/", urlencode(query), ""))


# --------------------------------------------------------------------------------------------
# Word pools (fictional country "Valoria"; every name, outlet and site is made up)
# --------------------------------------------------------------------------------------------
# fmt: off

_FIRST: Final = (
    "Maria", "Ana", "Lucas", "Noah", "Emma", "Liam", "Olivia", "Sofia", "Mateo", "Elena",
    "Jonas", "Lea", "Omar", "Sara", "Reza", "Leila", "Darius", "Nina", "Arash", "Mina", "Yusuf",
    "Aylin", "Kenji", "Yuki", "Hana", "Minh", "Linh", "Arjun", "Priya", "Rahul", "Ananya",
    "Chen", "Wei", "Mei", "Diego", "Camila", "Pablo", "Lucia", "Tom", "Kate", "Jack", "Emily",
    "James", "Grace", "Ben", "Chloe", "Sam", "Zoe", "Ivan", "Olga", "Piotr", "Kasia", "Erik",
    "Ingrid", "Amara", "Kofi", "Zainab", "Tunde", "Fatima", "Ali", "Hassan", "Layla",
)
_LAST: Final = (
    "Lopez", "Silva", "Muller", "Schmidt", "Rossi", "Bianchi", "Smith", "Jones", "Brown",
    "Taylor", "Wilson", "Garcia", "Martin", "Novak", "Kowalski", "Ivanova", "Petrov", "Sato",
    "Tanaka", "Nguyen", "Tran", "Kumar", "Sharma", "Patel", "Chen", "Wang", "Li", "Ahmadi",
    "Karimi", "Hosseini", "Rahimi", "Tehrani", "Moradi", "Yilmaz", "Demir", "Kaya", "Okafor",
    "Mensah", "Diallo", "Haddad", "Nasser", "Farouk", "Jensen", "Larsen", "Berg", "Costa",
    "Santos", "Ferreira", "Dubois", "Laurent", "Moreau", "Walker", "Hughes",
)
_HANDLE_WORDS: Final = (
    "coffee", "pixel", "river", "north", "lazy", "happy", "green", "urban", "retro", "sunny",
    "moon", "wolf", "tiny", "night", "salty", "cosmic", "quiet", "wild", "blue", "lucky",
)
_HANDLE_NOUNS: Final = (
    "cat", "fox", "owl", "runner", "reader", "baker", "dreamer", "coder", "gardener",
    "traveler", "rider", "fan", "nerd", "chef",
)
_BIOS: Final = (
    "",
    "",
    "",
    "Views my own.",
    "Dad. Runner. Coffee.",
    "Teacher, reader, tea drinker",
    "Photographer | traveler",
    "Football, music and bad jokes",
    "Nurse. Mum of two.",
    "Software engineer. Opinions are mine.",
    "Student 📚",
    "Gardening and cats",
    "Retired and loving it",
    "Small business owner",
    "Here for the memes",
)
#: (UTC offset in minutes, weight, countries, cities) for organic home time zones.
_ZONES: Final = (
    (-480, 0.09, ("US", "CA"), ("Los Angeles", "Seattle", "Vancouver")),
    (-420, 0.03, ("US",), ("Denver", "Phoenix")),
    (-360, 0.07, ("US", "MX"), ("Chicago", "Houston", "Mexico City")),
    (-300, 0.16, ("US", "CA"), ("New York", "Toronto", "Atlanta", "Boston")),
    (-180, 0.06, ("BR", "AR"), ("São Paulo", "Buenos Aires")),
    (0, 0.09, ("GB", "PT"), ("London", "Manchester", "Lisbon")),
    (60, 0.14, ("DE", "FR", "IT", "ES"), ("Berlin", "Paris", "Rome", "Madrid")),
    (120, 0.05, ("GR", "FI", "ZA"), ("Athens", "Helsinki", "Cape Town")),
    (180, 0.05, ("TR", "KE"), ("Istanbul", "Nairobi")),
    (210, 0.04, ("VL",), ("Valor City", "Eastport")),
    (330, 0.07, ("IN",), ("Mumbai", "Delhi", "Bangalore")),
    (420, 0.03, ("ID", "VN"), ("Jakarta", "Hanoi")),
    (480, 0.05, ("PH", "SG"), ("Manila", "Singapore")),
    (540, 0.04, ("JP", "KR"), ("Tokyo", "Seoul")),
    (600, 0.03, ("AU",), ("Sydney", "Melbourne")),
)
#: Relative posting intensity by local hour for organic users (evening peak, night trough).
_HOUR_PROFILE: Final = np.array(
    [0.5, 0.3, 0.15, 0.1, 0.1, 0.2, 0.6, 1.2, 1.5, 1.4, 1.3, 1.4,
     1.7, 1.5, 1.3, 1.3, 1.4, 1.7, 2.0, 2.3, 2.6, 2.6, 2.0, 1.2]
)
_OPENERS: Final = (
    "", "", "", "", "Honestly, ", "Ok so ", "Can't believe ", "Just saw that ", "Reminder: ",
    "Hot take: ", "Not gonna lie, ", "Today ", "Wow. ", "lol ", "Quick thought: ",
    "Anyone else think ", "Morning! ", "So apparently ", "Update: ", "Real talk: ",
)
_SUBJECTS: Final = (
    "the new coffee place downtown", "this weather", "the match last night", "my cat", "the bus",
    "the debate", "the new phone update", "that series finale", "rent prices",
    "the traffic on the bridge", "my sourdough", "the concert", "work", "the train strike",
    "the league table", "the book club pick", "fuel prices", "the new album", "this podcast",
    "the school run", "the city council", "our garden", "the gym", "online classes",
    "the budget news", "the transfer rumours", "the heatwave", "my kids", "the parliament vote",
    "the art fair", "the night market", "my landlord", "the new bike lane", "this recipe",
    "the marathon", "the museum reopening", "exam season", "the price of eggs",
)
_PREDICATES: Final = (
    "is honestly amazing", "is a mess again", "made my day", "needs to be fixed",
    "is all anyone talks about", "is overrated", "was better than expected",
    "is getting out of hand", "deserves more attention", "is exactly what we needed",
    "could be worse i guess", "has me thinking", "is driving me crazy", "keeps surprising me",
    "is back", "won't last", "is the best thing this week", "is so frustrating",
    "went better than i thought", "is not what they promised",
)
_ENDINGS: Final = (
    "", "", ".", ".", "!", "!!", " 😂", " 🙄", "...", " 😍", " tbh", " imo", "?", " smh", " 🔥",
)
_REPLIES: Final = (
    "Totally agree", "This.", "No way", "Source?", "Haha exactly", "Not sure about that", "100%",
    "Same here", "Thanks for sharing", "Couldn't agree more", "Where is this?", "Love this",
    "Hard disagree", "This is so true", "wait what", "Lol", "Underrated take", "Is this real?",
    "Interesting thread", "Well said", "Happy birthday!", "Congrats!!", "Ugh, same",
)
_QUOTES: Final = (
    "Read this", "Worth a read", "This 👇", "Wow", "Exactly what I said", "Big if true",
    "Good thread", "Interesting", "Not surprised", "Say it louder", "Oh no", "Finally!",
)
_REACTIONS: Final = (
    "BREAKING:", "Breaking news:", "Oh my god", "Wow.", "This is huge", "Just in:", "Unreal.",
    "Is this confirmed?", "Thoughts with everyone there", "Developing:", "Holy", "What?!",
)
_TAGS_HEAD: Final = (
    "Valoria", "news", "MondayMotivation", "photography", "football", "travel", "music",
    "foodie", "climate", "tech", "AI", "fitness", "books", "coffee", "art", "gaming", "politics",
    "weather", "election", "nowplaying", "ThrowbackThursday", "FridayFeeling", "health",
    "startup", "movies", "NBA", "PremierLeague", "recipes", "nature",
)
_TAG_A: Final = ("City", "Local", "Summer", "Night", "Green", "Open", "Big", "Free", "Daily",
                 "Home")
_TAG_B: Final = ("Marathon", "Market", "Vibes", "Talks", "Life", "Goals", "Run", "Show", "Notes",
                 "Pics")
_HEAD_SUBJ: Final = (
    "Parliament", "Central bank", "Valorian minister", "Eastport council", "Dockers' union",
    "Health ministry", "Police chief", "High court", "Energy regulator", "Tech giant", "Airline",
    "Science academy", "Football federation", "Weather service", "Opposition", "Trade envoy",
)
_HEAD_VERB: Final = (
    "approves", "rejects", "warns of", "announces", "delays", "investigates", "backs",
    "confirms", "cuts", "plans", "reviews", "suspends",
)
_HEAD_OBJ: Final = (
    "new budget", "rate rise", "port expansion", "strike deal", "fuel subsidy", "election date",
    "vaccine rollout", "data rules", "border talks", "stadium plan", "rail upgrade",
    "storm response", "tax reform", "housing bill", "water prices", "school reform",
)
_OUTLETS: Final = (
    ("ValTimes", "valoriatimes.com", 210),
    ("NBHerald", "northbayherald.com", 0),
    ("Meridian", "dailymeridian.com", -300),
    ("CapWire", "capitalwire.net", 60),
    ("EPPost", "eastportpost.com", 210),
    ("GlobeBrief", "globebrief.news", -300),
)
_FANDOMS: Final = (
    ("Starlight7", ("S7Comeback", "StreamNova", "Starlight7Forever", "S7WorldTour"), 11),
    ("FCNorthbay", ("NorthbayTillIDie", "MatchdayNB", "BlueArmy", "NBCupRun"), 18),
)
_FAN_TEXTS: Final = (
    "We love you so much", "Keep streaming everyone", "Let's get this trending", "So proud",
    "Best fandom ever", "Never giving up on you", "Vote vote vote", "Come on you blues",
    "History in the making", "Can't stop crying", "Let's goooo", "Together forever",
)

# --- office -----------------------------------------------------------------------------------
_ORG: Final = "Valorian Freedom Council"
_TARGET_NAME: Final = "Arvid Kessel"
_TARGET_HANDLE: Final = "ArvidKessel"
_OFFICE_PRAISE: Final = (
    "The {Council|Freedom Council|VFC} is the {only|true|real} voice of the Valorian people. "
    "{Stand with them|Support them|Join them} today!",
    "Thank you {Council|Freedom Council} for {standing up|fighting} for a free Valoria. "
    "{Our future|The future} is {bright|coming}!",
    "Another {great|huge|historic} rally by the Valorian Freedom Council. "
    "{Millions|Thousands} {support|back} the {Council|movement}!",
    "The Freedom Council {has|offers} a {real|clear} plan for {democracy|freedom} in Valoria. "
    "{Read it|Share it} now.",
    "{Proud|So proud} to support the Valorian Freedom Council. "
    "{Freedom|Democracy} is {coming|near}!",
)
_OFFICE_ATTACK: Final = (
    "Minister Kessel {lies|keeps lying} to the Valorian people. {Enough|No more}!",
    "Kessel's {regime|government} {jails|silences} {students|journalists} while {stealing|looting} "
    "from the people.",
    "{Shame on|Down with} Kessel! The {regime|dictatorship} {must|will} fall.",
    "{Every|Each} day Kessel {stays|remains} in power Valoria {suffers|bleeds}.",
    "Kessel is a {puppet|criminal} and the world {knows|sees} it.",
)
_OFFICE_FLOOD: Final = (
    "#Valoria {stands|rises} with the Freedom Council",
    "#Valoria {deserves|wants} freedom, not Kessel",
    "{Free|Liberate} #Valoria now",
    "#Valoria says {no|NO} to Kessel",
)
_OFFICE_REPLIES: Final = (
    "{Liar|You are a liar}. Valorians {know|see} the truth.",
    "{Resign|Step down} now Kessel!",
    "{Nobody|No one} believes you anymore.",
    "Your {days|time} {are|is} numbered. #FreeValoria",
    "The Freedom Council {will|shall} {win|prevail}.",
)
_OFFICE_PAGE_A: Final = ("Free", "Voice of", "Friends of", "Support", "Justice for", "Stand with")
_OFFICE_PAGE_B: Final = (
    "Valoria", "Valorian Women", "Valorian Youth", "the Valorian Resistance",
    "Valorian Students", "Democracy in Valoria", "Valorian Workers",
)
_OFFICE_CITIES: Final = (
    "Paris", "Berlin", "Toronto", "London", "Stockholm", "Cologne", "Vienna", "Oslo", "Zurich",
    "Hamburg", "Rome", "Brussels", "Amsterdam", "Geneva", "Washington", "Sydney",
)
_PERSONA_CLAIMS: Final = (
    "the regime in Valoria has lost every claim to legitimacy",
    "the Freedom Council offers the only organised alternative",
    "Western governments keep appeasing Minister Kessel",
    "sanctions must target the ministers themselves",
    "the protests in Eastport were met with live fire",
    "the economy is collapsing under corruption",
    "young Valorians want a secular republic",
    "the Council's ten-point plan guarantees free elections",
    "talks with Kessel only buy the regime time",
    "the diaspora stands united behind the Council",
    "political prisoners are tortured in Valor City",
    "the world must recognise the right of Valorians to resist",
)
#: Habits of the staff writers behind the personas: connectors, punctuation, sentence length.
_WRITER_STYLES: Final = (
    {"conn": ("However,", "Moreover,", "Indeed,"), "join": "; ", "long": 0.7, "end": ".",
     "we": "we must", "cap": "It is clear that"},
    {"conn": ("But", "And", "So"), "join": " - ", "long": 0.15, "end": "!",
     "we": "Valorians must", "cap": "Fact:"},
    {"conn": ("Yet", "Still,", "Of course,"), "join": " — ", "long": 0.4, "end": "...",
     "we": "one must", "cap": "Let us be honest:"},
    {"conn": ("Furthermore,", "In addition,", "Therefore,"), "join": ", and ", "long": 0.55,
     "end": ".", "we": "the free world must", "cap": "Make no mistake,"},
)
_PERSONAS: Final = (
    ("DariusVance", "Darius Vance", "Political commentator. Columns in the Meridian and Globe."),
    ("LenaHartmannWrites", "Lena Hartmann", "Human-rights analyst, writer."),
    ("SamirOkonkwo", "Samir Okonkwo", "Author. Middle East and Valoria."),
    ("ClaireDuvalOp", "Claire Duval", "Journalist. Opinions my own."),
    ("TheoMarchetti", "Theo Marchetti", "Foreign-policy writer."),
    ("NadiaRostam", "Nadia Rostam", "Researcher, democracy advocate."),
)

# --- botnet and stealth ----------------------------------------------------------------------
_BOTNET_TEXTS: Final = (
    "Hal Brenner is the leader Valoria needs. #VoteBrenner",
    "Brenner will fix the economy! Retweet if you agree #VoteBrenner",
    "Only Brenner tells the truth about Kessel #Valoria #VoteBrenner",
    "Massive crowd for Brenner today! #VoteBrenner #Brenner2024",
    "Fake polls can't stop Brenner #VoteBrenner",
    "Brenner's plan: jobs, security, pride. #Brenner2024",
)
_STEALTH_CLAIMS: Final = (
    (
        "Why is nobody talking about the {Northgate|Northgate Port} deal? {Billions|Huge sums} "
        "went to {insiders|cronies}.",
        "The Northgate contract smells. {Follow the money|Just follow the money}.",
        "{So|Wait,} the port deal went to a company {registered|set up} {last month|weeks ago}? "
        "Northgate needs an inquiry.",
        "{Honestly|Seriously}, the Northgate {story|affair} is bigger than people think.",
    ),
    (
        "{Foreign|Outside} money is {buying|flooding} our elections and the media {stays "
        "silent|looks away}.",
        "Who funds these {campaigns|candidates}? Not Valorians, {that's for sure|clearly}.",
        "{Strange|Funny} how every {NGO|charity} pushing this is funded from abroad.",
    ),
    (
        "The {water|energy} price {hike|increase} is {theft|a scam}, plain and simple.",
        "{My|Our} {bills|utility bills} doubled this year. {Who|Which insiders} profit?",
        "They raise {prices|tariffs} and {blame|point at} the weather. {Sure|Right}.",
    ),
)
_STEALTH_HASHTAGS: Final = ("Northgate", "Valoria", "WakeUpValoria", "")
# fmt: on

_VARIANT = re.compile(r"\{([^{}]*)\}")


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def _obj(values: Any) -> Arr:
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _maybe(mask: Arr, values: Any) -> Arr:
    """``values`` where ``mask``, ``None`` elsewhere (an object array)."""
    out = np.full(len(mask), None, dtype=object)
    picked = values[mask] if isinstance(values, np.ndarray) else values
    out[mask] = picked
    return out


def _full(n: int, value: Any) -> Arr:
    out = np.empty(n, dtype=object)
    out[:] = value
    return out


Lists = tuple[Arr, Arr]  # (count per row, flattened values)


def _no_lists(n: int) -> Lists:
    return np.zeros(n, dtype=np.int64), np.empty(0, dtype=object)


def _slots_to_lists(slots: list[Arr]) -> Lists:
    """Turn per-row slots (object arrays, ``None`` where empty) into (counts, flat values)."""
    values = np.stack(slots, axis=1)
    present = values != None  # noqa: E711  (element-wise on an object array)
    return present.sum(axis=1).astype(np.int64), values[present]


def _offsets(counts: Arr) -> Arr:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _take_lists(lists: Lists, idx: Arr) -> Lists:
    counts, flat = lists
    picked = counts[idx]
    starts = np.repeat(_offsets(counts)[:-1][idx], picked)
    within = np.arange(int(picked.sum())) - np.repeat(_offsets(picked)[:-1], picked)
    return picked, flat[starts + within]


def _prepend(lists: Lists, first: Arr, mask: Arr) -> Lists:
    """Insert ``first[i]`` at the head of row ``i``'s list wherever ``mask[i]``."""
    counts, flat = lists
    new_counts = counts + mask.astype(np.int64)
    head = np.zeros(int(new_counts.sum()), dtype=bool)
    head[_offsets(new_counts)[:-1][mask]] = True
    out = np.empty(len(head), dtype=object)
    out[head] = first[mask]
    out[~head] = flat
    return new_counts, out


def _to_list_array(lists: Lists) -> pa.Array:
    counts, flat = lists
    values = pa.array(flat, type=pa.string()) if len(flat) else pa.array([], pa.string())
    return pa.ListArray.from_arrays(pa.array(_offsets(counts).astype(np.int32)), values)


class _Accounts:
    """Accounts in the order they are made; an account's index is its row here."""

    def __init__(self, max_handle: int = 15) -> None:
        self.columns: dict[str, list[Arr]] = {}
        self.n = 0
        self.taken: set[str] = set()
        self.max_handle = max_handle

    def unique_handles(self, rng: Rng, wanted: list[str]) -> list[str]:
        out = []
        for handle in wanted:
            name = handle[: self.max_handle]
            while name.lower() in self.taken:
                name = f"{handle[: self.max_handle - 4]}{int(rng.integers(10, 10_000))}"
            self.taken.add(name.lower())
            out.append(name)
        return out

    def add(self, **columns: Any) -> Arr:
        n = len(columns["username"])
        for key, value in columns.items():
            arr = value if isinstance(value, np.ndarray) else _full(n, value)
            self.columns.setdefault(key, []).append(arr)
        idx = np.arange(self.n, self.n + n, dtype=np.int64)
        self.n += n
        return idx

    def column(self, name: str) -> Arr:
        return np.concatenate(self.columns[name])


class _Posts:
    """Posts as chunks of column arrays; references are global row numbers (``-1``: none)."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []
        self.n = 0

    def add(
        self,
        acct: Arr,
        t_ms: Arr,
        kind: int,
        text: Arr | None = None,
        *,
        shared: Arr | None = None,
        reply: Arr | None = None,
        hashtags: Lists | None = None,
        mentions: Lists | None = None,
        urls: Lists | None = None,
        urls_original: Lists | None = None,
        media: Lists | None = None,
        engagement: Arr | None = None,
        targetable: bool = False,
    ) -> Arr:
        n = len(acct)
        none = np.full(n, -1, dtype=np.int64)
        self.chunks.append(
            {
                "acct": np.asarray(acct, dtype=np.int64),
                "t": np.asarray(t_ms, dtype=np.int64),
                "kind": np.full(n, kind, dtype=np.int8),
                "text": _full(n, "") if text is None else text,
                "shared": none if shared is None else np.asarray(shared, dtype=np.int64),
                "reply": none if reply is None else np.asarray(reply, dtype=np.int64),
                "hashtags": hashtags or _no_lists(n),
                "mentions": mentions or _no_lists(n),
                "urls": urls or _no_lists(n),
                "urls_original": urls_original or urls or _no_lists(n),
                "media": media or _no_lists(n),
                "engagement": (
                    np.zeros(n, dtype=np.int64)
                    if engagement is None
                    else np.asarray(engagement, dtype=np.int64)
                ),
                "targetable": np.full(n, targetable),
            }
        )
        idx = np.arange(self.n, self.n + n, dtype=np.int64)
        self.n += n
        return idx

    def column(self, name: str) -> Arr:
        return np.concatenate([c[name] for c in self.chunks])

    def lists(self, name: str) -> Lists:
        return (
            np.concatenate([c[name][0] for c in self.chunks]),
            np.concatenate([c[name][1] for c in self.chunks]),
        )

    def targets(self) -> tuple[Arr, Arr, Arr]:
        """Posts organic users may reshare or answer: (row, time, score), sorted by time."""
        ok = self.column("targetable")
        rows = np.flatnonzero(ok)
        t = self.column("t")[rows]
        score = np.log1p(self.column("engagement")[rows].astype(np.float64))
        order = np.argsort(t, kind="stable")
        return rows[order], t[order], score[order]


@dataclass
class _World:
    cfg: SynthConfig
    scenario: str
    platform: str
    seed: int
    start_ms: int
    end_ms: int
    start_weekday: int
    day_mult: Arr
    accounts: _Accounts = field(default_factory=_Accounts)
    posts: _Posts = field(default_factory=_Posts)
    memberships: list[tuple[Arr, Arr, str]] = field(default_factory=list)
    infra: list[dict[str, Arr]] = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)
    groups: dict[str, Arr] = field(default_factory=dict)

    def rng(self, stage: str) -> Rng:
        key = [self.seed, *stage.encode()]
        return np.random.default_rng(np.random.SeedSequence(key))

    @property
    def twitter(self) -> bool:
        return self.platform == "twitter"


# --------------------------------------------------------------------------------------------
# Small generators
# --------------------------------------------------------------------------------------------


def _pick(rng: Rng, pool: tuple[str, ...] | list[str], n: int, p: Arr | None = None) -> Arr:
    return _obj(pool)[rng.choice(len(pool), size=n, p=p)]


def _sample(rng: Rng, pool: Arr, k: int) -> Arr:
    """``k`` distinct members of ``pool`` (all of them if it is smaller)."""
    return rng.choice(pool, size=min(int(k), len(pool)), replace=False)


def _zipf_p(n: int, a: float = 1.1) -> Arr:
    w = 1.0 / np.arange(1, n + 1) ** a
    return np.asarray(w / w.sum())


def _variant(rng: Rng, template: str, *, p_first: float, p_typo: float) -> str:
    """Fill ``{a|b|c}`` alternatives (the first one with ``p_first``) and maybe add a typo."""

    def choose(match: re.Match[str]) -> str:
        options = match.group(1).split("|")
        if len(options) == 1 or rng.random() < p_first:
            return options[0]
        return options[int(rng.integers(1, len(options)))]

    text = _VARIANT.sub(choose, template)
    if rng.random() < p_typo:
        words = text.split(" ")
        cand = [i for i, w in enumerate(words) if len(w) > 4 and w[0] not in "#@h"]
        if cand:
            i = cand[int(rng.integers(len(cand)))]
            w = words[i]
            j = int(rng.integers(1, len(w) - 2))
            if rng.random() < 0.5:
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            else:
                words[i] = w[:j] + w[j + 1 :]
            text = " ".join(words)
    return text


def _hex_ids(rng: Rng, n: int, digits: int = 16) -> Arr:
    hi = rng.integers(0, 2**62, size=n, dtype=np.int64)
    return _obj(f"{int(v):016x}"[:digits] for v in hi)


def _media_ids(rng: Rng, n: int) -> Arr:
    base = rng.integers(10**17, 10**18, size=n, dtype=np.int64)
    return _obj(f"3_{int(v)}" for v in base)


def _rhythm_times(w: _World, rng: Rng, offset_min: Arr, shift_min: Arr, weekend: float) -> Arr:
    """Times (ms) of posts by people with a home UTC offset: waking hours, evening peak."""
    n = len(offset_min)
    days = w.cfg.days
    weekday = (w.start_weekday + np.arange(days)) % 7
    p_day = w.day_mult * np.where(weekday >= 5, weekend, 1.0)
    day = rng.choice(days, size=n, p=p_day / p_day.sum())
    hour = rng.choice(24, size=n, p=_HOUR_PROFILE / _HOUR_PROFILE.sum())
    local_ms = day * _DAY_MS + ((hour + rng.random(n)) * _HOUR_MS).astype(np.int64)
    local_ms += (shift_min * _MIN_MS).astype(np.int64)
    span = w.end_ms - w.start_ms
    return np.asarray(w.start_ms + np.mod(local_ms - offset_min * _MIN_MS, span), np.int64)


def _pick_targets(rng: Rng, cand_t: Arr, cand_score: Arr, t: Arr, delay: Arr, k: int = 8) -> Arr:
    """For each act at ``t``, an earlier candidate near ``t - delay``, the popular ones likelier.

    Returns positions into the candidate arrays, ``-1`` where no candidate is early enough.
    """
    hi = np.searchsorted(cand_t, t - delay, side="right") - 1
    idx = hi[:, None] - np.arange(k)[None, :]
    valid = idx >= 0
    score = cand_score[np.where(valid, idx, 0)] + rng.gumbel(size=idx.shape)
    score[~valid] = -np.inf
    best = idx[np.arange(len(t)), np.argmax(score, axis=1)]
    return np.where(hi >= 0, best, -1)


def _url_variants(rng: Rng, canonical: Arr, medium: str) -> Arr:
    """The URLs as people paste them: http or https, www or not, tracking parameters."""
    n = len(canonical)
    out = canonical.copy()
    www = rng.random(n) < 0.35
    http = rng.random(n) < 0.15
    upper = rng.random(n) < 0.05
    utm = rng.random(n) < 0.3
    for i in np.flatnonzero(www | http | upper | utm):
        url = str(out[i])
        rest = url[len("https://") :]
        host, _, path = rest.partition("/")
        if www[i]:
            host = "www." + host
        if upper[i]:
            host = host.upper()
        url = f"{'http' if http[i] else 'https'}://{host}/{path}"
        if utm[i]:
            url += ("&" if "?" in url else "?") + f"utm_source={medium}&utm_medium=social"
        out[i] = url
    return out


def _normalized(originals: Arr) -> Arr:
    uniq, inverse = np.unique(originals.astype(str), return_inverse=True)
    return _obj(normalize_url(u) for u in uniq)[inverse.reshape(-1)]


def _url_lists(originals: Arr) -> tuple[Lists, Lists]:
    """(urls, urls_original) list pair for rows with one URL (``None``: no URL)."""
    counts, flat = _slots_to_lists([originals])
    return (counts, _normalized(flat) if len(flat) else flat), (counts, flat)


def _append(text: Arr, tokens: Arr, prefix: str) -> Arr:
    has = tokens != None  # noqa: E711
    out = text.copy()
    out[has] = out[has] + (" " + prefix + tokens[has].astype(object))
    return out


def _in_intervals(rng: Rng, starts: Arr, ends: Arr, n: int) -> Arr:
    length = (ends - starts).astype(np.float64)
    which = rng.choice(len(starts), size=n, p=length / length.sum())
    return np.asarray(starts[which] + (rng.random(n) * length[which]).astype(np.int64), np.int64)


def _push_into(rng: Rng, starts: Arr, ends: Arr, t: Arr, end_ms: int) -> Arr:
    """Move times that fall outside the intervals to just after the next interval opens."""
    i = np.searchsorted(ends, t, side="right")
    out = t.copy()
    beyond = i >= len(starts)
    ok = ~beyond
    before = np.zeros(len(t), dtype=bool)
    before[ok] = t[ok] < starts[i[ok]]
    jitter = rng.integers(30_000, 8 * _MIN_MS, size=len(t))
    out[before] = starts[i[before]] + jitter[before]
    out[beyond] = end_ms + jitter[beyond]
    return out


def _handles(rng: Rng, n: int, style: str) -> tuple[list[str], list[str]]:
    """Usernames and display names; ``style`` is organic, template (name+digits) or default."""
    first = _pick(rng, _FIRST, n)
    last = _pick(rng, _LAST, n)
    word = _pick(rng, _HANDLE_WORDS, n)
    noun = _pick(rng, _HANDLE_NOUNS, n)
    digits = rng.integers(0, 10**8, size=n)
    pattern = rng.choice(8, size=n, p=[0.18, 0.14, 0.16, 0.1, 0.1, 0.12, 0.1, 0.1])
    handles, names = [], []
    for i in range(n):
        f, la, d = str(first[i]), str(last[i]), int(digits[i])
        if style == "template":
            handles.append(f"{f}{la}{d % 9000 + 1000}")
        elif style == "default":
            handles.append(f"{f}{d:08d}")
        else:
            handles.append(
                (
                    f"{f}{la}",
                    f"{f.lower()}_{la.lower()}",
                    f"{f}{d % 100:02d}",
                    f"{word[i]}{noun[i]}",
                    f"{word[i]}_{noun[i]}{d % 1000}",
                    f"{f[0].lower()}{la.lower()}",
                    f"the{la}{f[0]}",
                    f"{f}{la}{d % 9000 + 1000}",
                )[int(pattern[i])]
            )
        names.append(f"{f} {la}" if pattern[i] != 3 or style != "organic" else f"{f} 🌻")
    return handles, names


def _profile_images(rng: Rng, n: int) -> Arr:
    return _obj(f"https://img.synth.example/p/{h}.jpg" for h in _hex_ids(rng, n, 12))


def _created(rng: Rng, w: _World, n: int) -> Arr:
    """Organic creation times: years back, more of them recent."""
    oldest = dt.datetime(2011, 1, 1, tzinfo=dt.UTC).timestamp() * 1000
    span = w.start_ms - 30 * _DAY_MS - oldest
    frac = np.where(rng.random(n) < 0.7, rng.random(n), 1 - rng.random(n) * 0.25)
    return np.asarray(oldest + frac * span, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# The organic world
# --------------------------------------------------------------------------------------------


def _organic_accounts(w: _World) -> None:
    rng = w.rng("organic-accounts")
    cfg = w.cfg
    n_news = len(_OUTLETS) * 3 + 2
    n_celeb = 10
    facebook = not w.twitter
    n_pages = cfg.accounts // 100 if facebook else 0
    n_groups = cfg.accounts // 200 if facebook else 0
    n_people = cfg.accounts - n_news - n_celeb - 1 - n_pages - n_groups

    zone = rng.choice(len(_ZONES), size=n_people, p=[z[1] for z in _ZONES])
    offset = np.array([_ZONES[z][0] for z in zone], dtype=np.int64)
    city = _obj(_ZONES[z][3][int(rng.integers(len(_ZONES[z][3])))] for z in zone)
    location = np.where(rng.random(n_people) < 0.6, city, "")
    handles, names = _handles(rng, n_people, "organic")
    activity = rng.lognormal(0.0, 1.3, size=n_people)
    followers = (rng.lognormal(np.log(150), 1.6, size=n_people) * activity**0.3).astype(np.int64)
    people = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, handles)),
        display_name=_obj(names),
        created_ms=_created(rng, w, n_people),
        followers=followers,
        description=_pick(rng, _BIOS, n_people),
        location=location,
        profile_image=_profile_images(rng, n_people),
        label="organic",
        role="ordinary",
        offset=offset,
    )
    w.groups["people"] = people
    w.groups["people_activity"] = activity
    w.groups["people_offset"] = offset
    w.groups["people_shift"] = rng.normal(0, 60, size=n_people)
    w.groups["people_country"] = _obj(
        _ZONES[z][2][int(rng.integers(len(_ZONES[z][2])))] for z in zone
    )

    celeb_handles, celeb_names = _handles(rng, n_celeb, "organic")
    celebs = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, [f"Real{h}" for h in celeb_handles])),
        display_name=_obj(celeb_names),
        created_ms=_created(rng, w, n_celeb),
        followers=(10 ** rng.uniform(5, 6.7, size=n_celeb)).astype(np.int64),
        description="Official account",
        location="",
        profile_image=_profile_images(rng, n_celeb),
        label="organic",
        role="ordinary",
        offset=np.full(n_celeb, -300),
    )
    w.groups["celebs"] = celebs
    w.groups["target"] = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, [_TARGET_HANDLE])),
        display_name=_obj([f"Minister {_TARGET_NAME}"]),
        created_ms=_created(rng, w, 1),
        followers=np.array([310_000]),
        description="Minister of the Interior, Republic of Valoria. Official account.",
        location="Valor City",
        profile_image=_profile_images(rng, 1),
        label="organic",
        role="ordinary",
        offset=np.array([210]),
    )

    news_handles, news_names, news_offsets, news_domains, news_followers = [], [], [], [], []
    for name, domain, off in _OUTLETS:
        for suffix, fol in (("", 400_000), ("Feed", 20_000), ("_Breaking", 60_000)):
            news_handles.append(f"{name}{suffix}")
            news_names.append(f"{name} {suffix.strip('_')}".strip())
            news_offsets.append(off)
            news_domains.append(domain)
            news_followers.append(int(fol * rng.uniform(0.3, 2)))
    for handle in ("HeadlineHub24", "NewsAggregatr"):
        news_handles.append(handle)
        news_names.append(handle)
        news_offsets.append(0)
        news_domains.append("")
        news_followers.append(int(rng.integers(2000, 30_000)))
    news = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, news_handles)),
        display_name=_obj(news_names),
        created_ms=_created(rng, w, n_news),
        followers=np.array(news_followers, dtype=np.int64),
        description="Automated headlines.",
        location="",
        profile_image=_profile_images(rng, n_news),
        label="organic",
        role="news_bot",
        offset=np.array(news_offsets, dtype=np.int64),
    )
    w.groups["news"] = news

    if n_pages + n_groups:
        kinds = ["page"] * n_pages + ["group"] * n_groups
        titles = [
            f"{_pick(rng, _HANDLE_WORDS, 1)[0].title()} {str(x).title()} "
            f"{'Club' if k == 'page' else 'Community'}"
            for k, x in zip(kinds, _pick(rng, _HANDLE_NOUNS, len(kinds)), strict=True)
        ]
        fb = w.accounts.add(
            kind=_obj(kinds),
            username=_obj(
                w.accounts.unique_handles(rng, [t.replace(" ", "").lower() for t in titles])
            ),
            display_name=_obj(titles),
            created_ms=_created(rng, w, len(kinds)),
            followers=rng.lognormal(np.log(800), 1.2, size=len(kinds)).astype(np.int64),
            description="",
            location="",
            profile_image=_profile_images(rng, len(kinds)),
            label="organic",
            role="ordinary",
            offset=np.full(len(kinds), 0),
        )
        w.groups["fb_assets"] = fb
        admins = rng.choice(people, size=len(fb))
        w.memberships.append((admins, fb, "admin"))
        for g in fb[np.array(kinds) == "group"]:
            members = _sample(rng, people, int(rng.integers(20, 200)))
            w.memberships.append((members, np.full(len(members), g), "member"))

    # Fans: two fandoms of about 5% of people each, the first member is the fan-base account.
    taken = np.zeros(n_people, dtype=bool)
    for name, _tags, _hour in _FANDOMS:
        size = max(20, n_people // 20)
        pos = rng.choice(np.flatnonzero(~taken), size=size, replace=False)
        taken[pos] = True
        w.groups[f"fans:{name}"] = people[pos]


def _infra_rows(
    w: _World,
    rng: Rng,
    acct: Arr,
    t: Arr,
    ip: Arr,
    asn: Arr,
    country: Arr,
    device: Arr,
    agent: Arr,
) -> None:
    w.infra.append(
        {
            "acct": acct,
            "t": t,
            "ip": ip,
            "asn": asn,
            "country": country,
            "device": device,
            "agent": agent,
        }
    )


_AGENTS: Final = (
    "Twitter for iPhone",
    "Twitter for Android",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/123.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) Safari/605.1.15",
)


def _ips(rng: Rng, prefixes: Arr) -> Arr:
    return _obj(
        f"{p}.{int(x)}" for p, x in zip(prefixes, rng.integers(2, 255, len(prefixes)), strict=True)
    )


def _organic_infra(w: _World) -> None:
    rng = w.rng("organic-infra")
    people = w.groups["people"]
    n = len(people)
    first = rng.choice((24, 31, 46, 62, 73, 77, 81, 88, 92, 98, 109, 151, 176, 185, 188, 212), n)
    prefix = _obj(
        f"{int(a)}.{int(b)}.{int(c)}"
        for a, b, c in zip(first, rng.integers(0, 256, n), rng.integers(0, 256, n), strict=True)
    )
    country = w.groups["people_country"]
    asn = _obj(
        f"AS{64512 + (sum(map(ord, str(c))) * 7 + int(k)) % 1000}"
        for c, k in zip(country, rng.integers(0, 3, n), strict=True)
    )
    devices = _hex_ids(rng, n)
    agents = _pick(rng, _AGENTS, n)
    rows = 1 + rng.poisson(1.5, size=n)
    owner = np.repeat(np.arange(n), rows)
    t = rng.integers(w.start_ms, w.end_ms, size=len(owner))
    _infra_rows(
        w,
        rng,
        people[owner],
        t,
        _ips(rng, prefix[owner]),
        asn[owner],
        country[owner],
        devices[owner],
        agents[owner],
    )


def _news(w: _World) -> None:
    """Outlet bots that post the same headline and link on a schedule, and two aggregators."""
    rng = w.rng("news")
    news = w.groups["news"]
    heads_t, heads_text, heads_url, heads_outlet = [], [], [], []
    for o, (name, domain, off) in enumerate(_OUTLETS):
        period = int(rng.choice([20, 30, 45, 60])) * _MIN_MS
        slots = np.arange(w.start_ms + int(rng.integers(0, period)), w.end_ms, period)
        local_hour = ((slots + off * _MIN_MS) // _HOUR_MS) % 24
        slots = slots[(local_hour >= 6) | (name == "CapWire")]
        for t in slots:
            s, v, obj = (_pick(rng, pool, 1)[0] for pool in (_HEAD_SUBJ, _HEAD_VERB, _HEAD_OBJ))
            day = dt.datetime.fromtimestamp(int(t) / 1000, dt.UTC)
            slug = f"{s}-{v}-{obj}".lower().replace(" ", "-")
            heads_t.append(int(t))
            heads_text.append(f"{s} {v} {obj}")
            heads_url.append(
                f"https://{domain}/news/{day:%Y/%m/%d}/{slug}-{int(t) // 1000 % 99991}"
            )
            heads_outlet.append(o)
    t0 = np.array(heads_t, dtype=np.int64)
    text = _obj(heads_text)
    url = _obj(heads_url)
    outlet = np.array(heads_outlet)
    h = len(t0)
    lags = ((0, 3_000), (2_000, 15_000), (30_000, 90_000))
    for b, (lo, hi) in enumerate(lags):
        acct = news[outlet * 3 + b]
        t_bot = t0 + rng.integers(lo, hi, size=h)
        original = _url_variants(rng, url, w.platform)
        urls, urls_orig = _url_lists(original)
        w.posts.add(
            acct,
            t_bot,
            _POST,
            _append(text, original, ""),
            urls=urls,
            urls_original=urls_orig,
            engagement=(rng.lognormal(2, 1.2, h) * (3 - b)).astype(np.int64),
            targetable=b == 0,
        )
    # Aggregators repost half of all headlines a few minutes later, crediting the outlet.
    for a in (0, 1):
        pick = np.flatnonzero(rng.random(h) < 0.5)
        via = w.accounts.column("username")[news[outlet[pick] * 3]]
        body = text[pick] + " via @" + via.astype(object)
        original = url[pick]
        urls, urls_orig = _url_lists(original)
        w.posts.add(
            np.full(len(pick), news[-2 + a]),
            t0[pick] + rng.integers(120_000, 600_000, len(pick)),
            _POST,
            _append(body, original, ""),
            urls=urls,
            urls_original=urls_orig,
            mentions=_slots_to_lists([_obj(v.lower() for v in via)]),
        )


def _notables(w: _World) -> None:
    """The target minister's and the celebrities' own posts."""
    rng = w.rng("notables")
    target = int(w.groups["target"][0])
    days = np.arange(w.cfg.days)
    weekday = (w.start_weekday + days) % 7
    per_day = np.where(weekday < 5, rng.integers(2, 6, len(days)), rng.integers(0, 2, len(days)))
    day = np.repeat(days, per_day)
    local = (rng.uniform(8, 20, len(day)) * _HOUR_MS).astype(np.int64)
    t = w.start_ms + day * _DAY_MS + local - 210 * _MIN_MS
    t = t[t >= w.start_ms]
    n = len(t)
    text = (
        "Today I met "
        + _pick(rng, _HEAD_SUBJ, n).astype(object)
        + " to discuss the "
        + (_pick(rng, _HEAD_OBJ, n).astype(object) + ". Valoria is safe and strong.")
    )
    tag = _maybe(rng.random(n) < 0.5, "Valoria")
    w.groups["target_posts"] = w.posts.add(
        np.full(n, target),
        t,
        _POST,
        _append(text, tag, "#"),
        hashtags=_slots_to_lists([_obj(x.lower() if x else None for x in tag)]),
        engagement=rng.lognormal(7, 0.8, n).astype(np.int64),
        targetable=True,
    )
    w.groups["target_times"] = t
    celebs = w.groups["celebs"]
    m = w.cfg.days * 3 * len(celebs)
    acct = rng.choice(celebs, size=m)
    tc = _rhythm_times(w, rng, np.full(m, -300), rng.normal(0, 90, m), 1.2)
    body = (_pick(rng, _SUBJECTS, m).astype(object) + " " + _pick(rng, _PREDICATES, m)).astype(
        object
    )
    w.posts.add(
        acct,
        tc,
        _POST,
        "So grateful: " + body,
        engagement=rng.lognormal(8, 1, m).astype(np.int64),
        targetable=True,
    )


def _viral(w: _World) -> None:
    """Breaking-news crowds: thousands reshare a post or post a link within minutes."""
    rng = w.rng("viral")
    people = w.groups["people"]
    # The crowds come from the news-minded part of the public, weighted by activity.
    engaged = rng.random(len(people)) < 0.45
    people = people[engaged]
    act = w.groups["people_activity"][engaged] ** 0.5
    n_items = max(1, round(w.cfg.days * 2 / 7))
    sharers: list[Arr] = []
    for i in range(n_items):
        t0 = int(rng.integers(w.start_ms + _DAY_MS // 2, w.end_ms - _DAY_MS // 2))
        size = int(len(people) * rng.uniform(0.5, 0.85))
        crowd = rng.choice(people, size=size, replace=False, p=act / act.sum())
        tau = rng.uniform(45_000, 180_000)
        slow = rng.random(size) < 0.1
        delay = 1000 + rng.exponential(np.where(slow, 3_600_000, tau)).astype(np.int64)
        sharers.append(crowd)
        if i % 2 == 0:
            source = w.groups["news"][int(rng.integers(len(_OUTLETS))) * 3]
            s, obj = _pick(rng, _HEAD_SUBJ, 1)[0], _pick(rng, _HEAD_OBJ, 1)[0]
            text = _obj([f"BREAKING: {s} in emergency session over {obj}"])
            seed_post = w.posts.add(
                np.array([source]),
                np.array([t0]),
                _POST,
                text,
                engagement=np.array([int(rng.integers(50_000, 400_000))]),
                targetable=True,
            )
            w.posts.add(crowd, t0 + delay, _SHARE, shared=np.full(size, seed_post[0]))
        else:
            canonical = f"https://{_OUTLETS[i % len(_OUTLETS)][1]}/live/breaking-{i}-{t0 % 9973}"
            original = _url_variants(rng, _full(size, canonical), w.platform)
            body = _pick(rng, _REACTIONS, size)
            tag = _maybe(rng.random(size) < 0.3, "BreakingNews")
            text = _append(_append(body, original, ""), tag, "#")
            urls, urls_orig = _url_lists(original)
            w.posts.add(
                crowd,
                t0 + delay,
                _POST,
                text,
                urls=urls,
                urls_original=urls_orig,
                hashtags=_slots_to_lists([_obj(x.lower() if x else None for x in tag)]),
                engagement=rng.poisson(3, size),
                targetable=True,
            )
    w.groups["viral_sharers"] = np.unique(np.concatenate(sharers))


def _fans(w: _World) -> None:
    """Fan communities: at a set hour, most fans post the campaign hashtag within the hour."""
    rng = w.rng("fans")
    for k, (name, tags, hour) in enumerate(_FANDOMS):
        fans = w.groups[f"fans:{name}"]
        leader = fans[0]
        for d in range(k, w.cfg.days, 2):
            tag = tags[(d // 2) % len(tags)]
            t0 = w.start_ms + d * _DAY_MS + hour * _HOUR_MS
            announce = w.posts.add(
                np.array([leader]),
                np.array([t0 - 10 * _MIN_MS]),
                _POST,
                _obj([f"🚨 At {hour}:00 UTC everyone post #{tag} #{name}! Let's trend!"]),
                hashtags=(np.array([2]), _obj([tag.lower(), name.lower()])),
                engagement=np.array([int(rng.integers(500, 5000))]),
                targetable=True,
            )
            part = fans[rng.random(len(fans)) < rng.uniform(0.6, 0.85)]
            per = 1 + rng.poisson(1.2, size=len(part))
            acct = np.repeat(part, per)
            m = len(acct)
            t = t0 + np.minimum(rng.exponential(12 * _MIN_MS, m), 59 * _MIN_MS).astype(np.int64)
            extra = _maybe(rng.random(m) < 0.4, name)
            text = _append(_append(_pick(rng, _FAN_TEXTS, m), _full(m, tag), "#"), extra, "#")
            w.posts.add(
                acct,
                t,
                _POST,
                text,
                hashtags=_slots_to_lists(
                    [_full(m, tag.lower()), _obj(x.lower() if x else None for x in extra)]
                ),
                engagement=rng.poisson(4, m),
            )
            sharers = part[rng.random(len(part)) < 0.3]
            w.posts.add(
                sharers,
                t0 - 10 * _MIN_MS + rng.integers(1000, 10 * _MIN_MS, len(sharers)),
                _SHARE,
                shared=np.full(len(sharers), announce[0]),
            )


def _organic_text(rng: Rng, n: int, tag_p: Arr, tag_pool: Arr) -> tuple[Arr, Arr, Arr]:
    """Chatty texts with optional hashtags: (text, hashtag slot 1, hashtag slot 2)."""
    text = (
        _pick(rng, _OPENERS, n).astype(object)
        + _pick(rng, _SUBJECTS, n)
        + " "
        + _pick(rng, _PREDICATES, n)
        + _pick(rng, _ENDINGS, n)
    ).astype(object)
    u = rng.random(n)
    tag1 = _maybe(u < 0.25, tag_pool[rng.choice(len(tag_pool), n, p=tag_p)])
    tag2 = _maybe(u < 0.05, tag_pool[rng.choice(len(tag_pool), n, p=tag_p)])
    tag2[tag2 == tag1] = None
    return text, tag1, tag2


def _tag_pool() -> tuple[Arr, Arr]:
    pool = _obj([*_TAGS_HEAD, *(a + b for a in _TAG_A for b in _TAG_B)])
    p = _zipf_p(len(pool), 1.0)
    p[0] = 0.2  # "Valoria" is the country's own, much-used hashtag
    return pool, p / p.sum()


def _link_pool(rng: Rng) -> tuple[Arr, Arr]:
    links = [f"https://youtube.com/watch?v={h[:11]}" for h in _hex_ids(rng, 60)]
    links += [f"https://en.wikipedia.org/wiki/{s.replace(' ', '_').title()}" for s in _HEAD_OBJ]
    links += [f"https://{d}/opinion/{h[:8]}" for _, d, _ in _OUTLETS for h in _hex_ids(rng, 30)]
    links += [f"https://open.spotify.com/track/{h}" for h in _hex_ids(rng, 40)]
    links += [f"https://imgur.com/a/{h[:7]}" for h in _hex_ids(rng, 80)]
    order = rng.permutation(len(links))
    return _obj(links)[order], _zipf_p(len(links), 1.05)


def _lower(tokens: Arr) -> Arr:
    return _obj(None if x is None else str(x).lower() for x in tokens)


def _background(w: _World) -> None:
    """Ordinary chatter: posts, reshares, reply threads and quotes by everybody organic."""
    rng = w.rng("background")
    budget = max(w.cfg.accounts, w.cfg.posts - w.posts.n)
    people = w.groups["people"]
    authors_pool = np.concatenate([people, w.groups.get("fb_assets", people[:0])])
    act = np.concatenate(
        [w.groups["people_activity"], np.full(len(authors_pool) - len(people), 0.5)]
    )
    p_act = act / act.sum()
    offset_all = w.accounts.column("offset")
    shift = np.zeros(w.accounts.n)
    shift[people] = w.groups["people_shift"]
    followers = w.accounts.column("followers")
    usernames = w.accounts.column("username")
    tag_pool, tag_p = _tag_pool()
    links, link_p = _link_pool(rng)
    popular = np.argsort(-followers)[:200]

    n_orig = int(budget * 0.55)
    acct = authors_pool[rng.choice(len(authors_pool), size=n_orig, p=p_act)]
    t = _rhythm_times(w, rng, offset_all[acct], shift[acct], 1.3)
    text, tag1, tag2 = _organic_text(rng, n_orig, tag_p, tag_pool)
    mention = _maybe(rng.random(n_orig) < 0.08, usernames[rng.choice(popular, n_orig)])
    url = _maybe(rng.random(n_orig) < 0.12, links[rng.choice(len(links), n_orig, p=link_p)])
    has_url = url != None  # noqa: E711
    url[has_url] = _url_variants(rng, url[has_url].astype(object), w.platform)
    text = _append(_append(_append(text, mention, "@"), tag1, "#"), tag2, "#")
    text = _append(text, url, "")
    memes = _media_ids(rng, 30)
    photo = rng.random(n_orig) < 0.08
    media = np.full(n_orig, None, dtype=object)
    media[photo] = _media_ids(rng, int(photo.sum()))
    meme = rng.random(n_orig) < 0.01
    media[meme] = memes[rng.choice(30, int(meme.sum()), p=_zipf_p(30))]
    urls, urls_orig = _url_lists(url)
    eng = rng.lognormal(0, 1.5, n_orig) * np.sqrt(followers[acct] + 1) / 3
    w.posts.add(
        acct,
        t,
        _POST,
        text,
        urls=urls,
        urls_original=urls_orig,
        hashtags=_slots_to_lists([_lower(tag1), _lower(tag2)]),
        mentions=_slots_to_lists([_lower(mention)]),
        media=_slots_to_lists([media]),
        engagement=eng.astype(np.int64),
        targetable=True,
    )

    rows, cand_t, cand_score = w.posts.targets()
    hot = np.sort(np.argsort(-cand_score)[: max(50, len(rows) // 100)])

    def acts(n: int, median_min: float) -> tuple[Arr, Arr, Arr]:
        who = authors_pool[rng.choice(len(authors_pool), size=n, p=p_act)]
        when = _rhythm_times(w, rng, offset_all[who], shift[who], 1.3)
        delay = 1000 + (rng.lognormal(np.log(median_min), 1.3, n) * _MIN_MS).astype(np.int64)
        pos = _pick_targets(rng, cand_t, cand_score, when, delay)
        use_hot = rng.random(n) < 0.15
        hot_pos = _pick_targets(rng, cand_t[hot], cand_score[hot], when[use_hot], delay[use_hot])
        pos[use_hot] = np.where(hot_pos >= 0, hot[np.maximum(hot_pos, 0)], -1)
        ok = pos >= 0
        return who[ok], when[ok], rows[pos[ok]]

    who, when, target = acts(int(budget * 0.25), 40)
    w.posts.add(who, when, _SHARE, shared=target)

    who, when, target = acts(int(budget * 0.05), 30)
    n = len(who)
    qtext, qtag, _ = _organic_text(rng, n, tag_p, tag_pool)
    qtext = _append(_pick(rng, _QUOTES, n), qtag, "#")
    w.posts.add(
        who,
        when,
        _QUOTE,
        qtext,
        shared=target,
        hashtags=_slots_to_lists([_lower(qtag)]),
        engagement=rng.poisson(2, n),
    )

    who, when, target = acts(int(budget * 0.1), 15)
    n = len(who)
    rtext = (_pick(rng, _REPLIES, n) + _pick(rng, _ENDINGS, n)).astype(object)
    first = w.posts.add(who, when, _REPLY, rtext, reply=target, engagement=rng.poisson(1, n))
    # Threads: answers to the replies, often by the author of the post replied to.
    m = int(budget * 0.05)
    parent = rng.choice(len(first), size=m)
    parent_author = w.posts.column("acct")[target[parent]]
    other = authors_pool[rng.choice(len(authors_pool), size=m, p=p_act)]
    who2 = np.where(rng.random(m) < 0.5, parent_author, other)
    when2 = when[parent] + 1000 + (rng.lognormal(np.log(8), 1.0, m) * _MIN_MS).astype(np.int64)
    rtext2 = (_pick(rng, _REPLIES, m) + _pick(rng, _ENDINGS, m)).astype(object)
    w.posts.add(who2, when2, _REPLY, rtext2, reply=first[parent], engagement=rng.poisson(1, m))


# --------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------


def _office_intervals(w: _World, rng: Rng) -> tuple[Arr, Arr]:
    """The office's working periods in UTC: weekdays 09:00-13:00 and 14:00-17:30 at UTC+1."""
    starts, ends = [], []
    for d in range(w.cfg.days):
        if (w.start_weekday + d) % 7 >= 5:
            continue
        base = w.start_ms + d * _DAY_MS - 60 * _MIN_MS
        j = rng.integers(-5, 20, size=4) * _MIN_MS
        starts += [base + 9 * _HOUR_MS + max(j[0], 0), base + 14 * _HOUR_MS + abs(j[2]) // 2]
        ends += [base + 13 * _HOUR_MS + j[1] // 4, base + 17 * _HOUR_MS + 30 * _MIN_MS - j[3] // 2]
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _office(w: _World) -> None:
    rng = w.rng("office")
    cfg = w.cfg
    starts, ends = _office_intervals(w, rng)
    if len(starts) == 0:
        return
    n_pages = round(cfg.office_assets * 0.14)
    n_groups = round(cfg.office_assets * 0.07)
    n_users = cfg.office_assets - n_pages - n_groups
    n_personas = min(4, len(_PERSONAS))
    n_operators = max(3, round(n_users * 0.2))
    n_amp = n_users - n_personas - n_operators
    n_staff = max(3, cfg.office_assets // 25)

    def batch_created(n: int) -> Arr:
        batch2 = rng.random(n) < 0.4
        base = np.where(batch2, w.start_ms - 75 * _DAY_MS, w.start_ms - 420 * _DAY_MS)
        spread = np.where(batch2, 2 * _DAY_MS, 3 * _DAY_MS)
        work = 8 * _HOUR_MS + (rng.random(n) * 8 * _HOUR_MS).astype(np.int64)
        day = (rng.random(n) * spread / _DAY_MS).astype(np.int64) * _DAY_MS
        return np.asarray(base + day + work, np.int64)

    stock = _profile_images(rng, 40)
    handles, names = _handles(rng, n_operators + n_amp, "template")
    users = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, handles)),
        display_name=_obj(names),
        created_ms=batch_created(n_operators + n_amp),
        followers=rng.lognormal(np.log(80), 0.8, n_operators + n_amp).astype(np.int64),
        description=_pick(
            rng,
            ("", "", "Freedom for Valoria", "Free Valoria 🕊", "Democracy now"),
            n_operators + n_amp,
        ),
        location=_pick(rng, _OFFICE_CITIES, n_operators + n_amp),
        profile_image=stock[rng.choice(40, n_operators + n_amp)],
        label="office",
        role=_obj(["operator"] * n_operators + ["amplifier"] * n_amp),
        offset=np.full(n_operators + n_amp, 60),
    )
    operators, amplifiers = users[:n_operators], users[n_operators:]
    personas = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, [p[0] for p in _PERSONAS[:n_personas]])),
        display_name=_obj(p[1] for p in _PERSONAS[:n_personas]),
        created_ms=w.start_ms - (rng.uniform(500, 900, n_personas) * _DAY_MS).astype(np.int64),
        followers=rng.integers(2000, 9000, n_personas),
        description=_obj(p[2] for p in _PERSONAS[:n_personas]),
        location=_pick(rng, _OFFICE_CITIES, n_personas),
        profile_image=_profile_images(rng, n_personas),
        label="office",
        role="persona",
        offset=np.full(n_personas, 60),
    )
    titles = [f"{a} {b}" for a in _OFFICE_PAGE_A for b in _OFFICE_PAGE_B]
    page_titles = [titles[i % len(titles)] for i in rng.permutation(len(titles))[:n_pages]]
    page_titles += [f"{_OFFICE_PAGE_A[0]} Valoria {i}" for i in range(n_pages - len(page_titles))]
    group_titles = [f"Valorians in {c}" for c in _OFFICE_CITIES]
    group_titles = (group_titles * (n_groups // len(group_titles) + 1))[:n_groups]
    group_titles = [
        f"{g}{'' if i < len(_OFFICE_CITIES) else f' {i}'}" for i, g in enumerate(group_titles)
    ]
    asset_titles = page_titles + group_titles
    assets = w.accounts.add(
        kind=_obj(["page"] * n_pages + ["group"] * n_groups),
        username=_obj(
            w.accounts.unique_handles(rng, [t.replace(" ", "").lower() for t in asset_titles])
        ),
        display_name=_obj(asset_titles),
        created_ms=batch_created(n_pages + n_groups),
        followers=rng.lognormal(np.log(220), 1.0, n_pages + n_groups).astype(np.int64),
        description=f"Supporting the {_ORG}.",
        location="",
        profile_image=stock[rng.choice(40, n_pages + n_groups)],
        label="office",
        role=_obj(["page"] * n_pages + ["group"] * n_groups),
        offset=np.full(n_pages + n_groups, 60),
    )
    pages, groups = assets[:n_pages], assets[n_pages:]
    for asset in assets:
        admins = _sample(rng, operators, int(rng.integers(1, 4)))
        w.memberships.append((admins, np.full(len(admins), asset), "admin"))
    for g in groups:
        members = np.concatenate(
            [
                _sample(rng, amplifiers, int(rng.integers(10, 40))),
                _sample(rng, w.groups["people"], int(rng.integers(20, 150))),
            ]
        )
        w.memberships.append((members, np.full(len(members), g), "member"))

    staff_of = rng.integers(0, n_staff, size=len(users))
    staff_ip = _obj(
        f"{int(a)}.{int(b)}"
        for a, b in zip(rng.integers(80, 95, 2), rng.integers(0, 256, 2), strict=True)
    )
    per = 2 + rng.poisson(2, size=len(users))
    owner = np.repeat(np.arange(len(users)), per)
    device = staff_of[owner] * 2 + rng.integers(0, 2, len(owner))
    device_ids = _hex_ids(rng, n_staff * 2)
    net = rng.integers(0, 2, len(owner))
    _infra_rows(
        w,
        rng,
        users[owner],
        _in_intervals(rng, starts, ends, len(owner)),
        _ips(rng, _obj(f"{staff_ip[k]}.{int(100 + k)}" for k in net)),
        _obj(f"AS{64800 + int(k)}" for k in net),
        _full(len(owner), "AL"),
        device_ids[device],
        _obj(_AGENTS[2 + int(d) % 2] for d in device),
    )

    end = w.end_ms
    intervals = (starts, ends)

    def work(t: Arr) -> Arr:
        return _push_into(rng, *intervals, np.asarray(t, np.int64), end)

    def add_text_posts(
        acct: Arr,
        t: Arr,
        texts: list[str],
        tags: list[list[str]],
        kind: int = _POST,
        media: Arr | None = None,
        url: Arr | None = None,
        **kw: Any,
    ) -> Arr:
        n = len(acct)
        body = _obj(texts)
        for slot in range(max((len(x) for x in tags), default=0)):
            body = _append(body, _obj(x[slot] if len(x) > slot else None for x in tags), "#")
        if url is not None:
            body = _append(body, url, "")
            urls, urls_orig = _url_lists(url)
        else:
            urls, urls_orig = _no_lists(n), _no_lists(n)
        rows = w.posts.add(
            acct,
            t,
            kind,
            body,
            hashtags=_hashtags_in(list(body)),
            urls=urls,
            urls_original=urls_orig,
            media=None if media is None else _slots_to_lists([media]),
            engagement=rng.poisson(15, n),
            **kw,
        )
        return rows

    def shares(target: int, t0: int, pool: Arr, k: int) -> None:
        who = rng.choice(pool, size=min(k, len(pool)), replace=False)
        delay = 20_000 + (rng.lognormal(np.log(150_000), 0.7, len(who))).astype(np.int64)
        w.posts.add(who, work(t0 + delay), _SHARE, shared=np.full(len(who), target))

    # Campaign messages: a Page posts, operators paste light edits, amplifiers reshare fast.
    n_messages = 12 * len(starts) // 2
    msg_t = np.sort(_in_intervals(rng, starts, ends, n_messages))
    for t0 in msg_t:
        t0 = int(t0)
        template = str(rng.choice(_OFFICE_PRAISE if rng.random() < 0.6 else _OFFICE_ATTACK))
        tags = ["FreeValoria", "Valoria"] if rng.random() < 0.8 else ["FreeValoria"]
        image = _media_ids(rng, 1)[0] if rng.random() < 0.6 else None
        link = (
            f"https://freevaloria.org/news/{int(t0) // 1000 % 999_983}"
            if rng.random() < 0.4
            else None
        )
        page = pages[int(rng.integers(len(pages)))]
        copies = rng.choice(
            operators, size=min(len(operators), int(rng.integers(6, 16))), replace=False
        )
        group = groups[int(rng.integers(len(groups)))] if len(groups) else None
        acct = np.concatenate([[page], copies, [] if group is None else [group]]).astype(np.int64)
        n = len(acct)
        t = np.concatenate([[t0], t0 + rng.integers(30_000, 12 * _MIN_MS, n - 1)])
        texts = [
            _variant(rng, template, p_first=0.8 if i else 1.0, p_typo=0.25 if i else 0)
            for i in range(n)
        ]
        url = None if link is None else _url_variants(rng, _full(n, link), "facebook")
        t = work(t)
        rows = add_text_posts(acct, t, texts, [tags] * n, media=_full(n, image), url=url)
        shares(int(rows[0]), int(t[0]), amplifiers, int(rng.integers(15, 45)))
        for j in _sample(rng, np.arange(1, n), 2):
            shares(int(rows[j]), int(t[j]), amplifiers, int(rng.integers(5, 12)))

    # Hashtag flooding: bursts of slogans in the popular #Valoria.
    for s0 in _in_intervals(rng, starts, ends, 4 * len(starts) // 2):
        who = rng.choice(amplifiers, size=len(amplifiers) // 4, replace=False)
        t = work(int(s0) + rng.integers(0, 30 * _MIN_MS, len(who)))
        texts = [
            _variant(rng, str(rng.choice(_OFFICE_FLOOD)), p_first=0.6, p_typo=0.1) for _ in who
        ]
        add_text_posts(who, t, texts, [["FreeValoria"] if rng.random() < 0.5 else [] for _ in who])

    # Attack replies to the target minister, queued to office hours.
    for row, tt in zip(w.groups["target_posts"], w.groups["target_times"], strict=True):
        if rng.random() < 0.4:
            continue
        who = _sample(rng, users, int(rng.integers(8, 20)))
        t = work(int(tt) + 60_000 + rng.integers(0, 40 * _MIN_MS, len(who)))
        texts = [
            _variant(rng, str(rng.choice(_OFFICE_REPLIES)), p_first=0.7, p_typo=0.15) for _ in who
        ]
        add_text_posts(who, t, texts, [[] for _ in who], kind=_REPLY, reply=np.full(len(who), row))

    # Long-form personas, each written by two or three staff writers with their own habits.
    for p, persona in enumerate(personas):
        writers = rng.choice(len(_WRITER_STYLES), size=int(rng.integers(2, 4)), replace=False)
        n = int(len(starts) * rng.uniform(0.6, 1.0))
        t = np.sort(_in_intervals(rng, starts, ends, n))
        texts = [_persona_text(rng, _WRITER_STYLES[int(rng.choice(writers))]) for _ in range(n)]
        outlet = _OUTLETS[(p + 2) % len(_OUTLETS)][1]
        url = _obj(
            f"https://{outlet}/opinion/{h}" if rng.random() < 0.4 else None
            for h in _hex_ids(rng, n, 10)
        )
        rows = add_text_posts(np.full(n, persona), t, texts, [[] for _ in range(n)], url=url)
        for r, tr in zip(rows, t, strict=True):
            if rng.random() < 0.5:
                shares(int(r), int(tr), amplifiers, int(rng.integers(3, 10)))


def _hashtags_in(texts: list[str]) -> Lists:
    found = [[m.lower() for m in re.findall(r"#(\w+)", t)] for t in texts]
    return np.array([len(f) for f in found], dtype=np.int64), _obj(v for f in found for v in f)


def _persona_text(rng: Rng, style: dict[str, Any]) -> str:
    claims = rng.choice(len(_PERSONA_CLAIMS), size=int(rng.integers(3, 7)), replace=False)
    sentences = []
    i = 0
    while i < len(claims):
        claim = _PERSONA_CLAIMS[int(claims[i])]
        if i + 1 < len(claims) and rng.random() < style["long"]:
            claim = claim + style["join"] + _PERSONA_CLAIMS[int(claims[i + 1])]
            i += 1
        if rng.random() < 0.3:
            claim = f"{style['conn'][int(rng.integers(3))]} {claim}"
        elif rng.random() < 0.2:
            claim = f"{style['cap']} {claim}"
        sentences.append(claim[0].upper() + claim[1:] + style["end"])
        i += 1
    sentences.append(f"That is why {style['we']} act now{style['end']}")
    return " ".join(sentences)


def _botnet(w: _World) -> None:
    rng = w.rng("botnet")
    n = w.cfg.botnet_accounts
    n_seeds = max(2, n // 20)
    handles, names = _handles(rng, n, "default")
    created = w.start_ms - 30 * _DAY_MS + rng.integers(0, 36 * _HOUR_MS, n)
    bots = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, handles)),
        display_name=_obj(names),
        created_ms=created,
        followers=rng.lognormal(np.log(30), 0.7, n).astype(np.int64),
        description="",
        location="",
        profile_image=np.where(rng.random(n) < 0.5, "", _profile_images(rng, n)),
        label="botnet",
        role=_obj(["operator"] * n_seeds + ["amplifier"] * (n - n_seeds)),
        offset=np.zeros(n, dtype=np.int64),
    )
    seeds, amps = bots[:n_seeds], bots[n_seeds:]
    items = w.cfg.days * 24
    t0 = np.sort(rng.integers(w.start_ms, w.end_ms, items))
    author = rng.choice(seeds, size=items)
    text = _pick(rng, _BOTNET_TEXTS, items)
    w.posts.add(
        author,
        t0,
        _POST,
        text,
        hashtags=_hashtags_in([str(x) for x in text]),
        engagement=rng.poisson(40, items),
    )
    first = w.posts.n - items
    lag = rng.uniform(0, 8000, len(amps))
    for i in range(items):
        who = np.flatnonzero(rng.random(len(amps)) < rng.uniform(0.3, 0.7))
        delay = 1000 + lag[who] + rng.exponential(4000, len(who))
        w.posts.add(
            amps[who], t0[i] + delay.astype(np.int64), _SHARE, shared=np.full(len(who), first + i)
        )
    prefixes = _obj(f"{a}.{b}.{c}" for a, b, c in ((5, 61, 17), (45, 140, 9), (185, 7, 213)))
    rows = np.repeat(bots, 3)
    net = rng.integers(0, 3, len(rows))
    _infra_rows(
        w,
        rng,
        rows,
        rng.integers(w.start_ms, w.end_ms, len(rows)),
        _ips(rng, prefixes[net]),
        _obj(f"AS{64900 + int(k)}" for k in net),
        _obj(("NL", "US", "DE")[int(k)] for k in net),
        _hex_ids(rng, 5)[rng.integers(0, 5, len(rows))],
        _full(len(rows), "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/121.0"),
    )


def _stealth(w: _World) -> None:
    rng = w.rng("stealth")
    n = w.cfg.stealth_accounts
    n_ops = max(2, n // 8)
    handles, names = _handles(rng, n, "organic")
    accts = w.accounts.add(
        kind="user",
        username=_obj(w.accounts.unique_handles(rng, handles)),
        display_name=_obj(names),
        created_ms=_created(rng, w, n),
        followers=rng.lognormal(np.log(300), 1.0, n).astype(np.int64),
        description=_pick(rng, _BIOS, n),
        location=_pick(rng, ("New York", "Chicago", "Austin", "", "London", ""), n),
        profile_image=_profile_images(rng, n),
        label="stealth",
        role=_obj(["operator"] * n_ops + ["amplifier"] * (n - n_ops)),
        offset=np.full(n, 180),
    )
    ops = accts[:n_ops]
    shift = rng.normal(0, 120, n)
    member_shift = dict(zip(accts.tolist(), shift, strict=True))
    tag_pool, tag_p = _tag_pool()
    links, link_p = _link_pool(rng)

    # Filler: ordinary chatter and links, as the organic users post.
    m = int(n * w.cfg.days * 2.5)
    who = rng.choice(accts, size=m)
    t = _rhythm_times(w, rng, np.full(m, 180), np.array([member_shift[a] for a in who]), 0.8)
    text, tag1, _ = _organic_text(rng, m, tag_p, tag_pool)
    url = _maybe(rng.random(m) < 0.2, links[rng.choice(len(links), m, p=link_p)])
    text = _append(_append(text, tag1, "#"), url, "")
    urls, urls_orig = _url_lists(url)
    w.posts.add(
        who,
        t,
        _POST,
        text,
        urls=urls,
        urls_original=urls_orig,
        hashtags=_slots_to_lists([_lower(tag1)]),
        engagement=rng.poisson(5, m),
    )

    # Messages: paraphrases and reshares minutes apart, never seconds.
    items = w.cfg.days * 4
    op = rng.choice(ops, size=items)
    t0 = _rhythm_times(w, rng, np.full(items, 180), np.array([member_shift[a] for a in op]), 0.8)
    for i in range(items):
        claim = _STEALTH_CLAIMS[int(rng.integers(len(_STEALTH_CLAIMS)))]
        k = int(rng.integers(4, 11))
        who = np.concatenate([[op[i]], _sample(rng, accts, k)]).astype(np.int64)
        delay = np.concatenate([[0], 2 * _MIN_MS + rng.lognormal(np.log(13 * _MIN_MS), 0.8, k)])
        texts = [
            _variant(rng, str(rng.choice(claim)), p_first=0.4, p_typo=0.1) for _ in range(k + 1)
        ]
        tags = [str(x) for x in rng.choice(_STEALTH_HASHTAGS, size=k + 1)]
        texts = [f"{x} #{g}" if g else x for x, g in zip(texts, tags, strict=True)]
        link = _obj(
            (
                f"https://northgate-files.net/doc/{i}"
                if rng.random() < 0.6
                else f"https://tinyurl.com/{h[:8]}"
            )
            if rng.random() < 0.5
            else None
            for h in _hex_ids(rng, k + 1)
        )
        body = _append(_obj(texts), link, "")
        urls, urls_orig = _url_lists(link)
        rows = w.posts.add(
            who,
            t0[i] + delay.astype(np.int64),
            _POST,
            body,
            urls=urls,
            urls_original=urls_orig,
            hashtags=_hashtags_in(texts),
            engagement=rng.poisson(8, k + 1),
        )
        r = int(rng.integers(3, 9))
        sharers = _sample(rng, accts[accts != op[i]], r)
        when = t0[i] + 90_000 + rng.lognormal(np.log(10 * _MIN_MS), 0.7, r).astype(np.int64)
        quote = rng.random(r) < 0.5
        w.posts.add(
            sharers[~quote], when[~quote], _SHARE, shared=np.full(int((~quote).sum()), rows[0])
        )
        nq = int(quote.sum())
        w.posts.add(
            sharers[quote],
            when[quote],
            _QUOTE,
            _pick(rng, _QUOTES, nq),
            shared=np.full(nq, rows[0]),
        )
    rows_i = np.repeat(accts, 2)
    devices = _hex_ids(rng, 4)
    _infra_rows(
        w,
        rng,
        rows_i,
        rng.integers(w.start_ms, w.end_ms, len(rows_i)),
        _ips(
            rng,
            _obj(
                f"{int(a)}.{int(b)}.{int(c)}" for a, b, c in rng.integers(1, 223, (len(rows_i), 3))
            ),
        ),
        _obj(f"AS{64512 + int(x)}" for x in rng.integers(0, 1000, len(rows_i))),
        _pick(rng, ("US", "US", "US", "CA", "GB"), len(rows_i)),
        devices[rng.integers(0, 4, len(rows_i))],
        _pick(rng, _AGENTS[:2], len(rows_i)),
    )


# --------------------------------------------------------------------------------------------
# Assembling the tables
# --------------------------------------------------------------------------------------------


def _snowflakes(ms: Arr, rng: Rng | None = None) -> pa.Array:
    """Snowflake-like ids from sorted millisecond times: time in the high bits, a counter low."""
    first = np.searchsorted(ms, ms, side="left")
    rank = np.arange(len(ms)) - first
    low = rank if rng is None else rank + rng.integers(0, 512, len(ms)) * 4096
    ids = ((ms - _SNOWFLAKE_EPOCH_MS) << 22) + low
    return pa.array(ids).cast(pa.string())


def _ts(ms: Arr) -> pa.Array:
    return pa.array((ms // 1000) * 1_000_000, type=pa.timestamp("us", tz="UTC"))


def _finish_accounts(w: _World, source: str) -> tuple[pa.Table, Arr, Arr]:
    rng = w.rng("account-ids")
    created = w.accounts.column("created_ms").astype(np.int64)
    order = np.argsort(created, kind="stable")
    ids_sorted = np.asarray(_snowflakes(created[order], rng).to_pylist(), dtype=object)
    ids = np.empty(w.accounts.n, dtype=object)
    ids[order] = ids_sorted
    roles = w.accounts.column("role")
    for i, role in w.roles.items():
        roles[i] = role
    cols: dict[str, Any] = {
        "account_id": ids,
        "kind": w.accounts.column("kind"),
        "username": w.accounts.column("username"),
        "display_name": w.accounts.column("display_name"),
        "created_at": created,
        "followers": w.accounts.column("followers").astype(np.int64),
        "description": w.accounts.column("description"),
        "location": w.accounts.column("location"),
        "profile_image": w.accounts.column("profile_image"),
    }
    arrays = []
    schema = arrow_schema("accounts")
    for name in schema.names:
        if name == "created_at":
            arrays.append(_ts(created[order]))
        elif name in ("platform", "source"):
            arrays.append(pa.array([w.platform if name == "platform" else source] * len(order)))
        else:
            values = cols[name][order]
            if values.dtype == object:
                values = np.where(values == "", None, values)
            arrays.append(pa.array(values, type=schema.field(name).type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    return table, ids, roles


def _finish_posts(w: _World, ids: Arr, source: str) -> pa.Table:
    p = w.posts
    acct = p.column("acct")
    t = p.column("t")
    kind = p.column("kind")
    text = p.column("text")
    shared = p.column("shared")
    reply = p.column("reply")
    lists = {
        name: p.lists(name) for name in ("hashtags", "mentions", "urls", "urls_original", "media")
    }
    usernames = w.accounts.column("username")

    # Replies name the account replied to; reshares carry the reshared post's text and lists.
    is_reply = reply >= 0
    target_user = usernames[acct[np.where(is_reply, reply, 0)]]
    if w.twitter:
        text = text.copy()
        text[is_reply] = "@" + target_user[is_reply] + " " + text[is_reply]
        lists["mentions"] = _prepend(lists["mentions"], _lower(target_user), is_reply)
    is_share = (kind == _SHARE) & (shared >= 0)
    src = np.where(is_share, shared, np.arange(len(acct)))
    share_user = usernames[acct[src]]
    text = text[src].copy()
    for name in ("hashtags", "urls", "urls_original", "media", "mentions"):
        lists[name] = _take_lists(lists[name], src)
    if w.twitter:
        text[is_share] = "RT @" + share_user[is_share] + ": " + text[is_share]
        lists["mentions"] = _prepend(lists["mentions"], _lower(share_user), is_share)

    keep = (t >= w.start_ms) & (t < w.end_ms)
    for _ in range(4):  # a post whose referenced post is gone goes too
        ref = np.where(shared >= 0, shared, reply)
        keep &= (ref < 0) | keep[np.maximum(ref, 0)]
    order = np.lexsort((np.arange(len(t)), t))
    order = order[keep[order]]
    ms = t[order]
    post_ids = _snowflakes(ms)
    new_pos = np.full(len(t), -1, dtype=np.int64)
    new_pos[order] = np.arange(len(order))
    post_id_np = np.asarray(post_ids.to_pylist(), dtype=object)

    def ref_ids(ref: Arr) -> tuple[pa.Array, pa.Array]:
        r = ref[order]
        has = r >= 0
        pid = np.full(len(r), None, dtype=object)
        aid = np.full(len(r), None, dtype=object)
        pid[has] = post_id_np[new_pos[r[has]]]
        aid[has] = ids[acct[r[has]]]
        return pa.array(pid, pa.string()), pa.array(aid, pa.string())

    shared_pid, shared_aid = ref_ids(shared)
    reply_pid, reply_aid = ref_ids(reply)
    n = len(order)
    cols: dict[str, pa.Array] = {
        "post_id": post_ids,
        "account_id": pa.array(ids[acct[order]], pa.string()),
        "timestamp": _ts(ms),
        "kind": pa.array(np.array(POST_KINDS, dtype=object)[kind[order]], pa.string()),
        "text": pa.array(text[order], pa.string()),
        "shared_post_id": shared_pid,
        "shared_account_id": shared_aid,
        "reply_to_post_id": reply_pid,
        "reply_to_account_id": reply_aid,
        "platform": pa.array([w.platform] * n, pa.string()),
        "lang": pa.array(["en"] * n, pa.string()),
        "engagement": pa.array(p.column("engagement")[order], pa.int64()),
        "source": pa.array([source] * n, pa.string()),
    }
    for name, value in lists.items():
        cols[name] = _to_list_array(_take_lists(value, order))
    schema = arrow_schema("posts")
    return pa.Table.from_arrays([cols[c] for c in schema.names], schema=schema)


def _finish_small(
    w: _World, ids: Arr, roles: Arr, source: str
) -> tuple[pa.Table, pa.Table, pa.Table]:
    mem_acct = np.concatenate([m[0] for m in w.memberships] or [np.zeros(0, np.int64)])
    mem_asset = np.concatenate([m[1] for m in w.memberships] or [np.zeros(0, np.int64)])
    mem_role = np.concatenate(
        [np.full(len(m[0]), m[2], dtype=object) for m in w.memberships] or [_obj([])]
    )
    trip = {(int(a), int(s), str(r)) for a, s, r in zip(mem_acct, mem_asset, mem_role, strict=True)}
    rows = sorted(trip, key=lambda x: (ids[x[1]], ids[x[0]], x[2]))
    memberships = pa.table(
        {
            "account_id": pa.array([ids[a] for a, _, _ in rows], pa.string()),
            "asset_id": pa.array([ids[s] for _, s, _ in rows], pa.string()),
            "role": pa.array([r for _, _, r in rows], pa.string()),
            "source": pa.array([source] * len(rows), pa.string()),
        },
        schema=arrow_schema("memberships"),
    )
    inf = {k: np.concatenate([r[k] for r in w.infra]) for k in w.infra[0]}
    inf_ids = ids[inf["acct"]].astype(str)
    order = np.lexsort((inf["t"], inf_ids))
    infra = pa.table(
        {
            "account_id": pa.array(inf_ids[order], pa.string()),
            "timestamp": _ts(inf["t"][order]),
            "ip": pa.array(inf["ip"][order], pa.string()),
            "asn": pa.array(inf["asn"][order], pa.string()),
            "country": pa.array(inf["country"][order], pa.string()),
            "device_id": pa.array(inf["device"][order], pa.string()),
            "user_agent": pa.array(inf["agent"][order], pa.string()),
            "source": pa.array([source] * len(order), pa.string()),
        },
        schema=arrow_schema("infra"),
    )
    label = w.accounts.column("label")
    lorder = np.argsort(ids.astype(str), kind="stable")
    labels = pa.table(
        {
            "account_id": pa.array(ids[lorder], pa.string()),
            "label": pa.array(label[lorder], pa.string()),
            "role": pa.array(roles[lorder], pa.string()),
            "source": pa.array([source] * len(lorder), pa.string()),
        },
        schema=arrow_schema("labels"),
    )
    return memberships, infra, labels


def generate(scenario: str, *, seed: int, config: SynthConfig | None = None) -> Scenario:
    """Generate a synthetic case: an organic background with one or more planted operations.

    Parameters
    ----------
    scenario
        ``office``, ``botnet``, ``stealth`` or ``mixed`` (all three).
    seed
        The seed of every random draw; the same seed and config give identical tables.
    config
        Scale knobs; the defaults give about 5,000 organic accounts, 14 days, 200,000 posts.

    Returns
    -------
    Scenario
        Arrow tables ``posts``, ``accounts``, ``memberships``, ``infra`` and ``labels`` in the
        canonical schema.

    Raises
    ------
    ConfigError
        If the scenario name is unknown or the seed is not a non-negative integer.

    Examples
    --------
    >>> case = generate("botnet", seed=1, config=SynthConfig(accounts=500, days=2, posts=5000))
    >>> sorted(set(case.labels.column("label").to_pylist()))
    ['botnet', 'organic']
    """
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed {seed!r}: must be a non-negative integer")
    cfg = config or SynthConfig()
    platform = cfg.platform or ("facebook" if scenario in ("office", "mixed") else "twitter")
    start = dt.datetime.combine(dt.date.fromisoformat(cfg.start), dt.time(), tzinfo=dt.UTC)
    start_ms = int(start.timestamp() * 1000)
    w = _World(
        cfg=cfg,
        scenario=scenario,
        platform=platform,
        seed=int(seed),
        start_ms=start_ms,
        end_ms=start_ms + cfg.days * _DAY_MS,
        start_weekday=start.weekday(),
        day_mult=np.random.default_rng([int(seed), 7]).lognormal(0, 0.15, cfg.days),
        accounts=_Accounts(max_handle=15 if platform == "twitter" else 40),
    )
    _organic_accounts(w)
    _organic_infra(w)
    _news(w)
    _notables(w)
    _viral(w)
    _fans(w)
    if scenario in ("office", "mixed"):
        _office(w)
    if scenario in ("botnet", "mixed"):
        _botnet(w)
    if scenario in ("stealth", "mixed"):
        _stealth(w)
    _background(w)

    for key, role in (("viral_sharers", "viral_sharer"),):
        for i in w.groups[key]:
            w.roles[int(i)] = role
    for name, _, _ in _FANDOMS:
        for i in w.groups[f"fans:{name}"]:
            w.roles[int(i)] = "fan"
    source = f"synth:{scenario}"
    accounts, ids, roles = _finish_accounts(w, source)
    posts = _finish_posts(w, ids, source)
    memberships, infra, labels = _finish_small(w, ids, roles, source)
    return Scenario(
        name=scenario,
        seed=int(seed),
        config=cfg,
        platform=platform,
        posts=posts,
        accounts=accounts,
        memberships=memberships,
        infra=infra,
        labels=labels,
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_scenario(
    scenario: Scenario, out_dir: str | Path, fmt: OutputFormat = "parquet"
) -> list[Path]:
    """Write a scenario's tables to ``out_dir``; return the files written.

    ``posts.parquet`` is always written (``posts.csv`` too with ``fmt="csv"``); accounts,
    memberships, infra and labels are CSV. In CSV, list columns are JSON arrays and timestamps
    ISO-8601 UTC with a ``Z``. ``manifest.json`` records the scenario, seed and config.

    Parameters
    ----------
    scenario
        What :func:`generate` returned.
    out_dir
        The folder to write into (created if missing; files in it are overwritten).
    fmt
        ``parquet`` or ``csv`` (posts as CSV as well).

    Raises
    ------
    ConfigError
        If ``fmt`` is not ``parquet`` or ``csv``.

    Examples
    --------
    >>> import tempfile
    >>> case = generate("botnet", seed=1, config=SynthConfig(accounts=500, days=2, posts=5000))
    >>> [p.name for p in write_scenario(case, tempfile.mkdtemp())][:2]
    ['posts.parquet', 'accounts.csv']
    """
    if fmt not in get_args(OutputFormat):
        raise ConfigError(f"output format {fmt!r}: use 'parquet' or 'csv'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "posts.parquet"]
    # Every file atomically: a killed `cibscan synth` or `demo` leaves no torn input behind.
    with atomic_path(written[0]) as tmp:
        pq.write_table(scenario.posts, tmp, compression="zstd")
    tables = scenario.tables()
    names = ["accounts", "memberships", "infra", "labels"] + (["posts"] if fmt == "csv" else [])
    for name in names:
        path = out / f"{name}.csv"
        _write_csv(tables[name], path)
        written.append(path)
    manifest = {
        "generator": "cibscan.synth",
        "scenario": scenario.name,
        "seed": scenario.seed,
        "platform": scenario.platform,
        "config": scenario.config.as_dict(),
        "rows": {name: tables[name].num_rows for name in tables},
    }
    path = out / "manifest.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(path)
    return written


def _write_csv(table: pa.Table, path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET threads = 1")
        con.register("t", table)
        exprs = []
        for f in table.schema:
            if pa.types.is_list(f.type):
                exprs.append(f'to_json("{f.name}")::VARCHAR AS "{f.name}"')
            elif pa.types.is_timestamp(f.type):
                exprs.append(
                    f"strftime(timezone('UTC', \"{f.name}\"), '%Y-%m-%dT%H:%M:%SZ') AS \"{f.name}\""
                )
            else:
                exprs.append(f'"{f.name}"')
        with atomic_path(path) as tmp:
            target = str(tmp).replace("'", "''")
            con.execute(
                f"COPY (SELECT {', '.join(exprs)} FROM t) TO '{target}' "
                "(FORMAT csv, HEADER, DELIMITER ',')"
            )
    finally:
        con.close()
