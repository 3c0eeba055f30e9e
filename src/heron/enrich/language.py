"""The language of a message or reply: an ISO 639-1 code, or ``"und"`` when it cannot be told.

Three steps, cheapest first:

1. Clean-up: fenced and inline code, URLs, e-mail addresses and numbers are
   removed (a question with a pasted stack trace is still English). What is
   left must hold a few letters and not be mostly symbols, or the answer is
   ``"und"`` (empty, emoji only, punctuation, code, JSON, a number).
2. Scripts that belong to one language decide at once (Hangul -> ko, kana ->
   ja, Thai, Greek, Hebrew, Georgian, Armenian, most Indic scripts).
3. Everything else is read two ways: by CLD2 (``pycld2``: Google's compact
   detector, tables compiled in, no download), good on long text, and by word
   frequencies (:mod:`._word_prior`, from ``wordfreq``), which decide short
   text, where CLD2 guesses ("la factura está mal" -> English, "vale" ->
   Samoan). A message of only common English chat words ("ok thanks", "help
   pls") is English; a rare language is named only for a long text CLD2 is sure
   of (:data:`COMMON`); :func:`_lexical` has the rules.

The enricher also reads the reply's language and flags a reply in another language than the
user's (``language_mismatch``). Without ``pycld2`` or ``wordfreq`` installed, a stopword count
over a dozen Latin-script languages answers what the other can't (lower accuracy;
docs/ux-quality.md).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any

from heron.enrich import _word_prior
from heron.enrich._lexicons import WORD
from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn

UNDETERMINED = "und"
MIN_LETTERS = 2
"""Fewer letters than this (after clean-up) is ``und``."""
MIN_GUESS_LETTERS = 12
"""CLD2's unreliable guesses count only on at least this many letters."""
LONG_LETTERS = 60
"""From this many letters CLD2 reads a text well; below, word frequencies decide (:func:`_lexical`)."""
MARGIN = 1.0
"""How far (log10 likelihood) the likeliest language must lead the next for a short text: 10x."""
STRONG_MARGIN = 3.0
"""A lead that overrules CLD2 on a long text: 1,000x."""
COMMON = frozenset(
    "en es de fr pt it nl sv da no pl tr id ms ro cs sk fi hu ca vi tl sl lt lv ru uk bg ar fa ur el he hi bn ja ko zh "
    "th et hr sr mr ne ta te kn ml gu pa si".split()
)
"""Languages CLD2 may name on a short text when the words cannot tell; any other needs a long text."""
MISMATCH_MIN_LETTERS = 20
"""Letters each side needs before a reply is said to be in another language than the user's."""
REPLY_CHARS = 400
"""A reply's language is read from its start (a long answer keeps to one language; code is removed anyway)."""
MAX_WORDS = 30
"""Words read (for the word frequencies and the stopword count): a longer text has told its language by then."""
MAX_SYMBOL_RATIO = 0.2
"""Text with more code symbols than this share of its visible characters is code, not language."""

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_EXTENSIONS = r"\.(?:py|js|ts|json|csv|txt|pdf|html|md|go|rs|java)\b"
_NOISE: tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...] = (
    (re.compile(r"(?:https?://|www\.)\S+"), re.compile(r"://|www\.")),  # URLs
    (re.compile(r"\S+@\S+\.\w+"), re.compile("@")),  # e-mail addresses
    (re.compile(r"[\w./\\-]+" + _EXTENSIONS), re.compile(_EXTENSIONS)),  # file names
    (re.compile(r"\d[\d.,:/%-]*"), None),  # numbers
)
"""Removed before reading a language, each only where its cheap marker is found (a reply is
long: one alternation of the four took half of :func:`detect`'s time)."""
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
    text = _CODE.sub(" ", text)
    for pattern, marker in _NOISE:
        if marker is None or marker.search(text):
            text = pattern.sub(" ", text)
    return text


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_NOT_LETTER = bytes(i for i in range(128) if not chr(i).isalpha())
_ASCII_NOT_SPACE = bytes(i for i in range(128) if not chr(i).isspace())


def _ascii_count(text: str, others: bytes) -> int:
    """How many ASCII characters of ``text`` are not in ``others`` (bytes.translate: C speed on long replies)."""
    return len(text.encode("ascii", "ignore").translate(None, others))


def _letters(text: str) -> int:
    return _ascii_count(text, _ASCII_NOT_LETTER) + sum(1 for char in _NOT_ASCII.findall(text) if char.isalpha())


def _script(text: str) -> tuple[str | None, int, int, int]:
    """(single-language script code or None, letters, Latin letters, Han letters).

    ASCII letters are counted with ``bytes.translate`` (C speed: replies are long); only the
    other characters are looked at one by one.
    """
    letters = latin = _ascii_count(text, _ASCII_NOT_LETTER)
    han = 0
    counts: dict[str, int] = {}
    for char in _NOT_ASCII.findall(text):
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
    others = _NOT_ASCII.findall(text)
    visible = len(text) - _ascii_count(text, _ASCII_NOT_SPACE) - sum(1 for char in others if char.isspace())
    symbols = sum(text.count(char) for char in _SYMBOLS)  # every ASCII math, modifier and other symbol is one of them
    symbols += sum(1 for char in others if unicodedata.category(char) in ("Sm", "So", "Sk"))
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
    if latin == letters and letters < LONG_LETTERS:
        words = _words(cleaned)
        if words and all(w in EN_CHAT for w in words):
            return "en"
    guess, reliable = _cld2_guess(cleaned)
    if reliable and letters >= LONG_LETTERS and guess in _word_prior.SCORED:
        return guess  # CLD2 reads a long text well; the words are needed against its rare-language guesses only
    words = _words(cleaned)
    lexical = _lexical(words, guess, reliable, letters)
    if lexical is not None:
        return lexical
    if guess is None:  # no CLD2: stopwords
        if han * 2 >= letters:
            return "zh"
        return _stopword_guess(words) if latin * 2 >= letters else UNDETERMINED
    if guess == UNDETERMINED:
        return _stopword_guess(words) if latin * 2 >= letters else UNDETERMINED
    if reliable and letters >= LONG_LETTERS or (guess in COMMON and (reliable or letters >= MIN_GUESS_LETTERS)):
        return guess
    return _stopword_guess(words)


def _words(cleaned: str) -> list[str]:
    return [match.group().lower() for match in islice(WORD.finditer(cleaned), MAX_WORDS)]


def _cld2_guess(cleaned: str) -> tuple[str | None, bool]:
    """(CLD2's language, whether it calls it reliable); None without CLD2."""
    cld2 = _detector()
    if cld2 is None:
        return None, False
    try:
        reliable, _, details = cld2.detect(cleaned, bestEffort=True)
    except (cld2.error, UnicodeError, ValueError):
        return UNDETERMINED, False
    return _cld2_code(details[0][1]), bool(reliable)


def _lexical(words: list[str], guess: str | None, reliable: bool, letters: int) -> str | None:
    """The decision word frequencies make (:mod:`._word_prior`), or None to leave it to CLD2.

    Short text (under :data:`LONG_LETTERS` letters): the likeliest language when it is at least
    :data:`MARGIN` (log10) ahead of the next; else CLD2's guess if it is among the near-ties,
    else ``und``: a rare language is never the answer for a few words. Longer text (when CLD2 is
    unsure, or names a language the words are not scored for): CLD2 decides unless the words
    say otherwise by :data:`STRONG_MARGIN` (Italian that CLD2 calls Corsican, Spanish it calls
    Galician), or CLD2 is unsure and the words are clear.
    """
    if not words or not _word_prior.available():
        return None
    ranked, known = _word_prior.scores(words)
    if not known:  # names, typos, or a script the lists do not cover (Han, Devanagari): CLD2's call
        return None
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    margin = best_score - second_score
    if margin >= STRONG_MARGIN:
        return best
    near = {code for code, score in ranked if score >= best_score - MARGIN}
    if letters < LONG_LETTERS:
        if margin >= MARGIN:
            return best
        return guess if guess in near else UNDETERMINED
    if reliable and guess is not None:  # a scored language CLD2 is sure of returned before this (detect)
        return guess
    return best if margin >= MARGIN else None


def user_language(turn: Turn, current: str, read: Callable[[str], str] = detect) -> tuple[str, int]:
    """(the language the user writes in, the letters it was read from): the newest message, read
    together with the two before it when it is short ("ok", "danke", a number) or undetermined."""
    letters = _letters(turn.user_text)
    if current != UNDETERMINED and letters >= MISMATCH_MIN_LETTERS or not turn.previous_user_texts:
        return current, letters
    joined = "\n".join([*turn.previous_user_texts[-2:], turn.user_text])
    return read(joined[:MAX_ENRICH_CHARS]), _letters(joined)


def mismatch(user: str, user_letters: int, reply: str, reply_text: str) -> bool | None:
    """Whether the reply is in another language than the user's; None when either cannot be told.

    Both sides need :data:`MISMATCH_MIN_LETTERS` letters: "ok" and "Danke!" say too little.
    """
    if user == UNDETERMINED or reply == UNDETERMINED or user_letters < MISMATCH_MIN_LETTERS:
        return None
    if _letters(reply_text[:REPLY_CHARS]) < MISMATCH_MIN_LETTERS:
        return None
    return user != reply


class LanguageEnricher:
    """Fills ``language`` from the user's message, ``reply_language`` from the reply, and
    ``language_mismatch`` (see :func:`detect`, :func:`user_language`, :func:`mismatch`).

    Run it before the :class:`~heron.enrich.sentiment.SentimentEnricher`,
    which scores only English (and undetermined) messages.
    """

    name = "language"

    def __init__(self, *, cache_size: int = 50_000) -> None:
        self._cache: dict[str, str] = {}
        self._size = cache_size

    def _detect(self, text: str) -> str:
        cache, size = self._cache, self._size
        code = cache.get(text)
        if code is None:
            code = detect(text)
            if size:
                if len(cache) >= size:
                    cache.clear()
                cache[text] = code
        return code

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None:
        for turn, out in zip(turns, signals, strict=True):
            out.language = self._detect((turn.user_text or "")[:MAX_ENRICH_CHARS])
            reply = turn.reply_text or ""
            out.reply_language = detect(reply[:REPLY_CHARS]) if reply else None
            if out.reply_language is not None:
                user, letters = user_language(turn, out.language, self._detect)
                out.language_mismatch = mismatch(user, letters, out.reply_language, reply)
