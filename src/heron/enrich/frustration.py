"""Signs that a turn went badly: the user asks again, complains or shouts; the model refuses, says nothing or is cut off.

User side, from the newest message and the earlier user messages of the
conversation (``Turn.previous_user_texts``: the chat history the app sent, or,
for a turn whose input has none, such as an OpenTelemetry span with the current
message only, the conversation's stored calls; :mod:`heron.enrich.history`):

- ``similarity``: the highest cosine similarity between the message and an
  earlier one (wordllama embeddings, ``heron.enrich.embeddings``), after
  dropping complaint phrases and rephrase markers ("that's not what I asked.",
  "let me rephrase:") so the question itself is compared, on the first
  :data:`EMBED_CHARS` characters.
- ``repeat``: (nearly) the same message again: the content words (stopwords
  dropped, number words as digits) overlap an earlier message's by at least
  :data:`REPEAT_OVERLAP` (Jaccard) in much the same order (:data:`REPEAT_ORDER`).
  Small talk ("ok", "thanks") sent twice is not a repeat.
- ``rephrase``: not a repeat, but the same request in other words:
  ``similarity`` of at least :data:`REPHRASE_SIMILARITY`, or of at least
  :data:`MARKED_REPHRASE_SIMILARITY` when the message says so ("I mean",
  "to be clear", "I asked").
- ``complaint``: explicit complaints about the answer ("that's not what I
  asked", "you already said that", "wrong answer"); weaker phrases ("it still
  doesn't work", "I already tried that", "I said ...") count only when the
  user has written before in the conversation.
- ``shouting``: mostly ALL-CAPS words (acronyms aside), or a run of three or
  more ``!``/``?``.

Model side: ``refusal`` (the reply's first :data:`~heron.enrich._lexicons.REFUSAL_WINDOW`
characters decline: "I'm sorry, but I can't ...", "As an AI ..."),
``empty_reply`` (a successful call with a blank reply), ``truncated``
(``finish_reason == "length"``) and ``error`` (``status == "error"``).

``frustration`` (0..1) combines the user-side evidence as a noisy-OR,
``1 - prod(1 - w_i)`` over the signals present, with the weights in
:data:`WEIGHTS`, plus negative ``sentiment`` and the ``anger``/``confusion``
cues when the SentimentEnricher ran first. The model-side signals are left
out on purpose: they describe the reply, which the user had not read when
writing this message (``Signals.unexpected_response`` covers them, and the
user's reaction shows in the next turn's frustration). Thresholds were
chosen on the development file of the hand-written conversation set;
docs/ux-quality.md has how, and the precision/recall measured on it and on
a held-out file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

from heron.enrich import _lexicons as L
from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn
from heron.enrich.embeddings import Embedder, EmbeddingMemo

REPEAT_OVERLAP = 0.8
"""Content-word Jaccard overlap at or above which a message repeats an earlier one, if also..."""
REPHRASE_SIMILARITY = 0.45
"""Embedding similarity at or above which a (non-repeat) message re-asks an earlier one."""
MARKED_REPHRASE_SIMILARITY = 0.3
"""The same, for a message that says it rephrases ("I mean", "to be clear", "I asked")."""
REPEAT_ORDER = 0.75
"""...and their content words must come in much the same order (difflib ratio), else it is a rephrase."""
MAX_HISTORY = 20
"""Only the last this-many earlier user messages are compared."""
EMBED_CHARS = 300
"""Messages are compared on their first this-many characters (a pasted document is long enough by then)."""

WEIGHTS: dict[str, float] = {
    "complaint": 0.6,
    "repeat": 0.5,
    "rephrase": 0.35,
    "shouting": 0.35,
    "anger": 0.5,
    "confusion": 0.15,
    "negative": 0.4,
}
"""Noisy-OR weights; ``negative`` is scaled by how negative the sentiment is (compound -1 gives the full 0.4)."""

log = logging.getLogger(__name__)


_COMPLAINT = L.compile_any(L.COMPLAINT)
_COMPLAINT_WEAK = L.compile_any(L.COMPLAINT_IN_CONVERSATION)
_COMPLAINT_BLOCK = L.compile_any(L.COMPLAINT_BLOCK)
_REFUSAL = L.compile_any(L.REFUSAL)
_REFUSAL_OTHER = L.compile_any(L.REFUSAL_OTHER)
_MARKERS = L.compile_any(L.REPHRASE_MARKERS)
_STRIP = L.compile_any([*L.REPHRASE_MARKERS, *L.COMPLAINT])
_BANG_RUN = re.compile(r"[!?]{3,}|(?:[!?]\s*){4,}")
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def complaint(text: str, *, in_conversation: bool = True) -> bool:
    """Whether the message complains about the answer; weak phrases need ``in_conversation``."""
    return _complains(L.normalise(text[:MAX_ENRICH_CHARS]), in_conversation)


def _complains(normal: str, in_conversation: bool) -> bool:
    return _complaints(normal)[in_conversation]


def _complaints(normal: str) -> tuple[bool, bool]:
    """(complains on its own, complains when the user has written before): both cases in one pass."""
    strong, weak = _COMPLAINT.search(normal) is not None, _COMPLAINT_WEAK.search(normal) is not None
    if not (strong or weak):
        return False, False  # blocking only removes text, so it is needed only where something matched
    blocked = _COMPLAINT_BLOCK.sub(" ; ", normal)
    strong_left, weak_left = _COMPLAINT.search(blocked) is not None, _COMPLAINT_WEAK.search(blocked) is not None
    return strong and strong_left, (strong or weak) and (strong_left or weak_left)


def shouting(text: str) -> bool:
    """Mostly ALL-CAPS words (two or more, acronyms aside; one long word alone), or a run of ``!!!``/``???``."""
    text = text[:MAX_ENRICH_CHARS]
    if _BANG_RUN.search(text):
        return True
    words = _LETTERS.findall(text)
    if not words:
        return False
    caps = [w for w in words if w.isupper() and w not in L.ACRONYMS]
    if not caps:
        return False
    if len(words) == 1:
        return len(caps[0]) >= 4
    return (len(caps) >= 2 and 2 * len(caps) >= len(words)) or len(caps) >= 5


def refusal(reply: str, language: str | None = None) -> bool:
    """Whether the reply declines to help (looked for in its first characters).

    ``language``, the reply's (``Signals.reply_language``), spares an English reply the other
    languages' patterns (a quarter of the enricher's time); None looks for every language.
    """
    start = L.normalise(reply[: L.REFUSAL_WINDOW])
    return bool(_REFUSAL.search(start) or (language != "en" and _REFUSAL_OTHER.search(start)))


_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())} | {"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"}


def _content(normal: str) -> list[str]:
    return [_NUMBERS.get(w, w) for w in L.WORD.findall(normal) if w not in L.STOPWORDS]


def content_words(text: str) -> frozenset[str]:
    """Lower-case words minus stopwords, number words as digits ("5 miles" vs "10 miles" differ, "two" is "2")."""
    return frozenset(_content(L.normalise(text)))


class _Message:
    """What the comparison needs of one user message, worked out once per text."""

    __slots__ = ("normal", "core", "sequence", "words", "small_talk", "marked", "complaints", "shouting")

    def __init__(self, text: str) -> None:
        self.normal = normal = L.normalise(text[:MAX_ENRICH_CHARS])
        self.complaints = _complaints(normal)
        self.shouting = shouting(text)
        core = " ".join(_STRIP.sub(" ", normal).split())
        if len(L.WORD.findall(core)) < 2:  # nothing but the complaint or marker: compare the whole message
            core = " ".join(normal.split())
        # Lone surrogates (broken UTF-16 from a client) would make the tokenizer raise.
        self.core = core[:EMBED_CHARS].encode("utf-8", "replace").decode("utf-8")
        self.sequence = _content(core)
        self.words = frozenset(self.sequence)
        self.small_talk = all(w in L.ACKNOWLEDGEMENTS for w in L.WORD.findall(normal))
        self.marked = _MARKERS.search(normal) is not None


def _overlap(new: _Message, old: _Message) -> float:
    """Jaccard overlap of content words; identical cores count 1 even without content words."""
    if not new.words and not old.words:
        return 1.0 if new.core == old.core else 0.0
    return len(new.words & old.words) / len(new.words | old.words)


def frustration(signals: Signals) -> float:
    """The noisy-OR of :data:`WEIGHTS` over what ``signals`` holds (None counts as absent)."""
    keep = 1.0
    for flag in ("complaint", "repeat", "rephrase", "shouting"):
        if getattr(signals, flag):
            keep *= 1.0 - WEIGHTS[flag]
    for cue in ("anger", "confusion"):
        if cue in signals.cues:
            keep *= 1.0 - WEIGHTS[cue]
    if signals.sentiment is not None and signals.sentiment < -0.05:
        keep *= 1.0 - WEIGHTS["negative"] * min(1.0, -signals.sentiment)
    return round(1.0 - keep, 4)


class FrustrationEnricher:
    """Fills ``similarity``, ``rephrase``, ``repeat``, ``complaint``, ``shouting``, ``refusal``,
    ``empty_reply``, ``truncated``, ``error`` and ``frustration``.

    ``embedder`` turns texts into L2-normalised rows (default
    :func:`heron.enrich.embeddings.embed`; tests pass a small fake); an
    :class:`~heron.enrich.embeddings.EmbeddingMemo` is used as it is, so
    enrichers sharing one embed a text once, anything else is wrapped in one;
    ``semantic=False`` skips embeddings (``similarity`` stays None and
    ``rephrase`` means a content-word overlap of at least 0.5); so does a
    batch whose embedding call raises (logged, the batch is not lost).
    Vectors of recent messages are kept (``cache_size`` texts, in the memo) because each
    message is compared again in every later turn of its conversation.
    """

    name = "frustration"

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        semantic: bool = True,
        repeat_overlap: float = REPEAT_OVERLAP,
        repeat_order: float = REPEAT_ORDER,
        rephrase_similarity: float = REPHRASE_SIMILARITY,
        marked_rephrase_similarity: float = MARKED_REPHRASE_SIMILARITY,
        max_history: int = MAX_HISTORY,
        cache_size: int = 20_000,
    ) -> None:
        self._vectors: EmbeddingMemo | None = None
        if semantic:
            # A shared memo (the pipeline's) is used as it is; anything else gets one of its own.
            memo = embedder if isinstance(embedder, EmbeddingMemo) else EmbeddingMemo(embedder, size=cache_size)
            self._vectors = memo
        self._repeat = repeat_overlap
        self._rephrase = rephrase_similarity
        self._marked = marked_rephrase_similarity
        self._history = max_history
        self._size = cache_size
        self._order = repeat_order
        self._messages: dict[str, _Message] = {}

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None:
        histories: list[list[str]] = []
        for turn, out in zip(turns, signals, strict=True):
            text = (turn.user_text or "")[:MAX_ENRICH_CHARS]
            reply = turn.reply_text or ""
            previous = [p for p in (turn.previous_user_texts or ())[-self._history :] if p and not p.isspace()]
            histories.append(previous)
            blank = not text or text.isspace()
            if blank:
                out.complaint = out.shouting = False
            else:
                message = self._message(text)
                out.complaint = message.complaints[bool(previous)]
                out.shouting = message.shouting
            out.error = turn.status == "error"
            out.refusal = refusal(reply, out.reply_language)
            out.empty_reply = not out.error and (not reply or reply.isspace())
            out.truncated = turn.finish_reason == "length"
        self._compare(turns, signals, histories)
        for out in signals:
            out.frustration = frustration(out)

    def _message(self, text: str) -> _Message:
        found = self._messages.get(text)
        if found is None:
            if self._size and len(self._messages) >= self._size:
                self._messages.clear()
            found = self._messages[text] = _Message(text)
        return found

    def _compare(self, turns: Sequence[Turn], signals: Sequence[Signals], histories: list[list[str]]) -> None:
        """Fill similarity, repeat and rephrase; every distinct text is analysed and embedded at most once."""
        work: list[tuple[Signals, _Message, list[_Message]]] = []
        for turn, out, previous in zip(turns, signals, histories):
            text = turn.user_text or ""
            out.repeat = out.rephrase = False
            if previous and text and not text.isspace():
                work.append((out, self._message(text), [self._message(p) for p in previous]))
        if not work:
            return
        vectors = None
        if self._vectors is not None:
            try:
                texts = list({m.core: None for _, new, old in work for m in (new, *old)})
                vectors = dict(zip(texts, self._vectors(texts), strict=True))
            except Exception:  # a failing model must not lose the batch: fall back to word overlap
                log.exception("embedding %d texts failed; rephrase falls back to word overlap", len(work))
        for out, new, old in work:
            best = max(old, key=lambda m: _overlap(new, m))
            out.repeat = (
                not new.small_talk
                and _overlap(new, best) >= self._repeat
                and SequenceMatcher(None, new.sequence, best.sequence, autojunk=False).ratio() >= self._order
            )
            if vectors is not None:
                mine = vectors[new.core]
                out.similarity = round(max(float(vectors[m.core] @ mine) for m in old), 4)
                threshold = self._marked if new.marked else self._rephrase
                out.rephrase = not out.repeat and not new.small_talk and out.similarity >= threshold
            else:
                out.rephrase = not out.repeat and not new.small_talk and _overlap(new, best) >= 0.5
