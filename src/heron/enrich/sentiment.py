"""Polarity of the user's message and of the reply (VADER), and the emotional cues of the message.

``sentiment`` and ``reply_sentiment`` are VADER's compound score in [-1, 1]
(``heron.enrich._vader`` computes exactly what ``vaderSentiment`` does,
several times faster). By default VADER's lexicon gets a small overlay for
messages to an assistant (``_lexicons.CHAT_LEXICON``: "please", "help",
"like", "best", "cancel" ... are requests there, not feelings, and a few chat
words VADER lacks are added); ``lexicon="vader"`` gives stock VADER. Labels,
when a chart needs them, use VADER's standard thresholds: positive above
:data:`POSITIVE`, negative below :data:`NEGATIVE`.

``cues`` lists which of :data:`~heron.enrich.base.CUES` the message shows,
from English lexicons and patterns (``_lexicons.py``): negation-aware ("not
useless" is no anger, "no rush" no urgency, "not helpful at all" is anger),
with sarcasm ("oh great, another error") counted as anger and cancelling
thanks.

Both are English-only. When the :class:`~heron.enrich.language.LanguageEnricher`
ran first and found another language, ``sentiment`` and ``reply_sentiment``
stay None and ``cues`` empty: VADER and the cue lists would read noise into
French or Japanese. docs/ux-quality.md has the measured accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic, TypeVar

from heron.enrich import _lexicons as L
from heron.enrich._vader import LEXICONS, compound
from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn

POSITIVE = 0.05
"""Compound above this reads positive (VADER's standard threshold)."""
NEGATIVE = -0.05
"""Compound below this reads negative."""
ENGLISH_LIKE = frozenset({"en", "und"})
"""Languages scored by default: English, and text too short to tell (mostly English in practice)."""


def label(score: float | None) -> str | None:
    """``"positive"``, ``"negative"`` or ``"neutral"`` for a compound score; None stays None."""
    if score is None:
        return None
    return "positive" if score > POSITIVE else "negative" if score < NEGATIVE else "neutral"


class _Cue:
    """One cue: trigger patterns, minus blocked spans (including negated trigger words)."""

    __slots__ = ("name", "trigger", "block")

    def __init__(self, name: str, triggers: Sequence[str], block: Sequence[str] = (), negatable: str | None = None):
        self.name = name
        blocks = [*block, *([L.negated(negatable)] if negatable else [])]
        self.trigger = L.compile_any(list(triggers))
        self.block = L.compile_any(blocks) if blocks else None

    def found(self, text: str) -> bool:
        if self.trigger.search(text) is None:
            return False  # blocking only removes text, so nothing can match after it either
        if self.block is not None:
            text = self.block.sub(" ; ", text)
        return self.trigger.search(text) is not None


_GRATITUDE = _Cue("gratitude", L.GRATITUDE, L.GRATITUDE_BLOCK, L.GRATITUDE_NEGATABLE)
_CONFUSION = _Cue("confusion", L.CONFUSION, L.CONFUSION_BLOCK)
_URGENCY = _Cue("urgency", L.URGENCY, L.URGENCY_BLOCK, L.URGENCY_NEGATABLE)
_ANGER = _Cue("anger", L.ANGER, L.ANGER_BLOCK, L.ANGER_NEGATABLE)
_SARCASM = _Cue("sarcasm", L.SARCASM)


def detect_cues(text: str) -> list[str]:
    """The cues of one (English) message, in :data:`~heron.enrich.base.CUES` order."""
    text = L.normalise(text[:MAX_ENRICH_CHARS])
    if not text.strip():
        return []
    sarcastic = _SARCASM.found(text)
    found: list[str] = []
    if sarcastic or _ANGER.found(text):
        found.append("anger")
    if _CONFUSION.found(text):
        found.append("confusion")
    if not sarcastic and _GRATITUDE.found(text):
        found.append("gratitude")
    if _URGENCY.found(text):
        found.append("urgency")
    return found


V = TypeVar("V")


class _Cache(Generic[V]):
    """A bounded text -> value memo; the oldest tenth goes when it is full.

    Demo and production traffic repeat texts (greetings, thanks, canned
    replies, retries) and batches repeat conversation history.
    """

    __slots__ = ("_data", "_size", "_compute")

    def __init__(self, compute: Callable[[str], V], size: int) -> None:
        self._data: dict[str, V] = {}
        self._size = size
        self._compute = compute

    def get(self, text: str) -> V:
        value = self._data.get(text)
        if value is None:
            value = self._compute(text)
            if self._size:
                if len(self._data) >= self._size:
                    for key in list(self._data)[: max(1, self._size // 10)]:
                        del self._data[key]
                self._data[text] = value
        return value


class SentimentEnricher:
    """Fills ``sentiment``, ``reply_sentiment`` and ``cues``.

    ``replies=False`` skips the reply (half the cost on long answers);
    ``cues=False`` skips the cue patterns. ``languages`` are the codes scored
    when ``signals.language`` is set (run the LanguageEnricher first to use
    it). ``lexicon`` is ``"chat"`` (VADER's lexicon with Heron's overlay for
    messages to an assistant, ``_lexicons.CHAT_LEXICON``) or ``"vader"``
    (the lexicon as shipped). ``cache_size`` bounds the per-text memos.
    """

    name = "sentiment"

    def __init__(
        self,
        *,
        replies: bool = True,
        cues: bool = True,
        languages: frozenset[str] | set[str] = ENGLISH_LIKE,
        lexicon: str = "chat",
        cache_size: int = 50_000,
    ) -> None:
        self._replies = replies
        self._cues = cues
        self._languages = frozenset(languages)
        if lexicon not in LEXICONS:
            raise ValueError(f"unknown lexicon {lexicon!r}; choose one of {list(LEXICONS)}")
        self._cache: _Cache[float] = _Cache(partial(compound, lexicon=lexicon), cache_size)
        self._cue_cache: _Cache[tuple[str, ...]] = _Cache(lambda text: tuple(detect_cues(text)), cache_size)

    def score(self, text: str) -> float | None:
        """VADER compound of one text (cached), None for an empty one."""
        text = text[:MAX_ENRICH_CHARS]
        if not text or text.isspace():
            return None
        return self._cache.get(text)

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None:
        score, languages = self.score, self._languages
        for turn, out in zip(turns, signals, strict=True):
            if out.language is not None and out.language not in languages:
                continue
            out.sentiment = score(turn.user_text or "")
            if self._replies:
                out.reply_sentiment = score(turn.reply_text or "")
            if self._cues:
                text = (turn.user_text or "")[:MAX_ENRICH_CHARS]
                out.cues = list(self._cue_cache.get(text)) if text and not text.isspace() else []
