"""The language of the user's message: an ISO 639-1 code, or ``"und"`` when it cannot be told.

Three steps, cheapest first:

1. Clean-up: fenced and inline code, URLs, e-mail addresses and numbers are
   removed (a question with a pasted stack trace is still English). What is
   left must hold a few letters and not be mostly symbols, or the answer is
   ``"und"`` (empty, emoji only, punctuation, code, JSON, a number).
2. Scripts that belong to one language decide at once (Hangul -> ko, kana ->
   ja, Thai, Greek, Hebrew, Georgian, Armenian, most Indic scripts).
3. Everything else goes to CLD2 (``pycld2``: Google's compact detector, C++
   with its tables compiled in, no download, ~200k short texts/s). Short
   chat messages are where CLD2 guesses: a message of only common English
   chat words ("ok thanks", "help pls") is English, and a guess on fewer
   than :data:`MIN_GUESS_LETTERS` letters is not trusted.

Without ``pycld2`` installed, step 3 falls back to counting stopwords of a
dozen Latin-script languages (lower accuracy; docs/ux-quality.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from heron.enrich._lexicons import WORD
from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn

UNDETERMINED = "und"
MIN_LETTERS = 2
"""Fewer letters than this (after clean-up) is ``und``."""
MIN_GUESS_LETTERS = 12
"""CLD2's unreliable guesses count only on at least this many letters."""
MAX_SYMBOL_RATIO = 0.2
"""Text with more code symbols than this share of its visible characters is code, not language."""

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_NOISE = re.compile(
    r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[\w./\\-]+\.(?:py|js|ts|json|csv|txt|pdf|html|md|go|rs|java)\b"
    r"|\d[\d.,:/%-]*",
)
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SYMBOLS = frozenset("{}[]()<>=+*/\\|&^%$#@~`;_")

# Scripts whose presence names the language: (first, last code point, code).
_SCRIPTS: tuple[tuple[int, int, str], ...] = (
    (0xAC00, 0xD7AF, "ko"), (0x1100, 0x11FF, "ko"), (0x3130, 0x318F, "ko"),
    (0x3040, 0x30FF, "ja"), (0x0E00, 0x0E7F, "th"), (0x0370, 0x03FF, "el"), (0x0590, 0x05FF, "he"),
    (0x10A0, 0x10FF, "ka"), (0x0530, 0x058F, "hy"), (0x0980, 0x09FF, "bn"), (0x0B80, 0x0BFF, "ta"),
    (0x0C00, 0x0C7F, "te"), (0x0C80, 0x0CFF, "kn"), (0x0D00, 0x0D7F, "ml"), (0x0A80, 0x0AFF, "gu"),
    (0x0A00, 0x0A7F, "pa"), (0x0D80, 0x0DFF, "si"), (0x1780, 0x17FF, "km"), (0x0E80, 0x0EFF, "lo"),
    (0x1000, 0x109F, "my"), (0x1200, 0x137F, "am"),
)
_HAN = (0x4E00, 0x9FFF)

# CLD2 codes that are not (or no longer) ISO 639-1.
_CLD2_CODES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "mo": "ro", "tl": "tl", "zh-hant": "zh", "nb": "no"}

EN_CHAT = frozenset("""
a about after again all also am an and any anyone anything are as ask at back be because been before but by can
cant can't could day did didnt didn't do does doesnt doesn't dont don't done for from get go going good got great
had has have help hello hey hi how i if im i'm in is isnt isn't it its it's just k know let like lol me mean more my
need new no not now of ok okay on one or our out pls please plz right same see so some still sure than thank thanks
that thats that's the them then there these they thing this thx time to too try ty u up us want was way we well
were what whats what's when where which who why will with work works worked would yes yeah yep you your cool nice
awesome perfect cheers bye wow oh omg wtf stop wait sorry yup nope fine cv resume email account password
""".split())
"""Common English chat words: a message made only of these is English even when CLD2 cannot say."""

_STOPWORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and is are you to of in it that what how do i my for this with can not",
        "fr": "le la les de des et est une un je ne pas que pour dans ce mon ma vous tu comment",
        "de": "der die das und ist nicht ich ein eine zu mit wie kann mein den dem ich sie warum",
        "es": "el la los las de que y es un una no por para con mi cómo qué lo me",
        "pt": "o a os as de que e é um uma não por para com meu minha como você",
        "it": "il lo la gli le di che e è un una non per con mio mia come sono",
        "nl": "de het een en is niet ik van dat wat hoe mijn met voor je",
        "sv": "och att det är som en på jag inte för med hur min vad",
        "da": "og at det er som en på jeg ikke for med hvordan min hvad",
        "no": "og at det er som en på jeg ikke for med hvordan min hva",
        "pl": "i w nie to jest na że się jak z do mój co",
        "tr": "ve bir bu da de ne için ile nasıl mı mi değil ben",
        "id": "dan yang di ini itu tidak saya untuk dengan bagaimana apa",
    }.items()
}

_cld2: Any = None
_cld2_loaded = False


def _detector() -> Any:
    global _cld2, _cld2_loaded
    if not _cld2_loaded:
        try:
            import pycld2  # type: ignore[import-untyped]
        except ImportError:  # the extra is optional; stopword fallback
            pycld2 = None
        _cld2, _cld2_loaded = pycld2, True
    return _cld2


def _clean(text: str) -> str:
    text = _BAD_CHARS.sub(" ", text[:MAX_ENRICH_CHARS])
    return _NOISE.sub(" ", _CODE.sub(" ", text))


def _script(text: str) -> tuple[str | None, int, int, int]:
    """(single-language script code or None, letters, Latin letters, Han letters)."""
    letters = latin = han = 0
    counts: dict[str, int] = {}
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        cp = ord(char)
        if cp < 0x250:
            latin += 1
            continue
        if _HAN[0] <= cp <= _HAN[1]:
            han += 1
            continue
        for first, last, code in _SCRIPTS:
            if first <= cp <= last:
                counts[code] = counts.get(code, 0) + 1
                break
    if counts:
        code, count = max(counts.items(), key=lambda item: item[1])
        if code == "ja" or count * 2 >= letters - han:
            return code, letters, latin, han
    return None, letters, latin, han


def _symbolic(text: str) -> bool:
    visible = symbols = 0
    for char in text:
        if not char.isspace():
            visible += 1
            if char in _SYMBOLS or unicodedata.category(char) in ("Sm", "So", "Sk"):
                symbols += 1
    return visible == 0 or symbols > MAX_SYMBOL_RATIO * visible


def _stopword_guess(words: list[str]) -> str:
    best, best_hits = UNDETERMINED, 0
    for code, stop in _STOPWORDS.items():
        hits = sum(1 for w in words if w in stop)
        if hits > best_hits:
            best, best_hits = code, hits
    return best if best_hits >= 2 or (best_hits == 1 and len(words) <= 3 and best == "en") else UNDETERMINED


def _cld2_code(raw: str) -> str:
    code = raw.lower()
    code = _CLD2_CODES.get(code, code.split("-")[0])
    return code if len(code) == 2 and code != "un" and code != "xx" else UNDETERMINED


def detect(text: str) -> str:
    """ISO 639-1 code of ``text``'s language, or ``"und"``."""
    if not text or text.isspace():
        return UNDETERMINED
    cleaned = _clean(text)
    script, letters, latin, han = _script(cleaned)
    if letters < MIN_LETTERS:
        return UNDETERMINED
    if script is not None:
        return script
    if _symbolic(cleaned):
        return UNDETERMINED
    words = [w.lower() for w in WORD.findall(cleaned)]
    if latin == letters and words and all(w in EN_CHAT for w in words):
        return "en"
    cld2 = _detector()
    if cld2 is None:
        if han * 2 >= letters:
            return "zh"
        return _stopword_guess(words) if latin * 2 >= letters else UNDETERMINED
    try:
        reliable, _, details = cld2.detect(cleaned, bestEffort=True)
    except (cld2.error, UnicodeError, ValueError):
        return UNDETERMINED
    code = _cld2_code(details[0][1])
    if code == UNDETERMINED:
        return _stopword_guess(words) if latin * 2 >= letters else UNDETERMINED
    if reliable or letters >= MIN_GUESS_LETTERS:
        return code
    guess = _stopword_guess(words)
    return guess if guess != UNDETERMINED else UNDETERMINED


class LanguageEnricher:
    """Fills ``language`` from the user's message (see :func:`detect`).

    Run it before the :class:`~heron.enrich.sentiment.SentimentEnricher`,
    which scores only English (and undetermined) messages.
    """

    name = "language"

    def __init__(self, *, cache_size: int = 50_000) -> None:
        self._cache: dict[str, str] = {}
        self._size = cache_size

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None:
        cache, size = self._cache, self._size
        for turn, out in zip(turns, signals, strict=True):
            text = (turn.user_text or "")[:MAX_ENRICH_CHARS]
            code = cache.get(text)
            if code is None:
                code = detect(text)
                if size:
                    if len(cache) >= size:
                        cache.clear()
                    cache[text] = code
            out.language = code
