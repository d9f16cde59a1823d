"""Making attacker-controlled text safe to show in the report.

Post texts, handles, display names, hashtags and URLs are written by the people under
investigation. Three ways they could attack the reader of a report, and the defence for each:

* **Markup and script injection.** Every value printed by a template is HTML-escaped (Jinja2
  autoescape); data handed to the page's script sits in a ``<script type="application/json">``
  block encoded by :func:`script_json`, which escapes ``<``, ``>`` and ``&`` (so ``</script>``
  and ``<!--`` cannot end or change the block) and U+2028/U+2029; the script only ever writes
  data with ``textContent``.
* **Text reordering.** Unicode direction controls (U+202A-202E, U+2066-2069, U+200E/200F,
  U+061C) would reorder the text around them, e.g. make ``invoice\\u202egnp.exe`` read as
  ``invoiceexe.png``. :func:`neutralise` replaces each with a visible marker such as
  ``[U+202E]``, and templates wrap data in ``<bdi>`` so that what is left cannot leak its
  direction into the page.
* **Invisible or breaking characters.** Other control characters are replaced by ``U+FFFD``.

:func:`clean_data` applies :func:`neutralise` to every string of a JSON-ready structure (keys
included), and turns non-finite floats (which JSON cannot carry) into ``None``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from typing import Any, Final

__all__ = ["BIDI_CONTROLS", "clean_data", "csp_hash", "neutralise", "script_json"]

#: Characters that change the direction of the text around them.
BIDI_CONTROLS: Final = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_BIDI_RE: Final = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# C0 and C1 controls except tab and newline; DEL too.
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SCRIPT_ESCAPES: Final = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_RE: Final = re.compile("[<>&\u2028\u2029]")


def neutralise(text: str) -> str:
    """Return ``text`` with direction controls shown as markers and control characters replaced.

    Examples
    --------
    >>> neutralise("invoice\\u202egnp.exe")
    'invoice[U+202E]gnp.exe'
    >>> neutralise("a\\x00b")
    'a\\ufffdb'
    """
    if not text:
        return text
    text = _BIDI_RE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
    return _CONTROL_RE.sub("\ufffd", text)


def clean_data(value: Any) -> Any:
    """Return a copy of JSON-ready data with every string neutralised and NaN/inf as ``None``.

    Examples
    --------
    >>> clean_data({"h\\u202e": [1.0, float("nan"), "x\\u2066"]})
    {'h[U+202E]': [1.0, None, 'x[U+2066]']}
    """
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {neutralise(str(k)): clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """Encode data for a ``<script type="application/json">`` block.

    The result is valid JSON that ``JSON.parse`` reads back unchanged, and contains no ``<``,
    ``>``, ``&``, U+2028 or U+2029, so no string in the data can close the block, open a
    comment, or end a line inside it.

    Examples
    --------
    >>> script_json({"t": "</script><!--"})
    '{"t":"\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _SCRIPT_RE.sub(lambda m: _SCRIPT_ESCAPES[m.group()], text)


def csp_hash(source: str) -> str:
    """Return the Content-Security-Policy source (``'sha256-...'``) that allows one inline block.

    Examples
    --------
    >>> csp_hash("")
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    """
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
