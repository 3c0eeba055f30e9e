"""Turning corpus templates into user messages and assistant replies.

Kept apart from the conversation state machine so the simulation reads as
decisions and this file as wording. All randomness comes from the caller's
``random.Random`` so a seed fixes every word.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from heron.demo import _corpus as C
from heron.demo._corpus import Topic

Slots = dict[str, str]
T = TypeVar("T")

_PERMUTATIONS = 32
_ORDERS: dict[int, list[tuple[int, ...]]] = {}
"""Precomputed shuffles per pool size: ``random.sample`` costs several microseconds a call."""
_shuffler = random.Random(0)
for _size in range(1, 16):
    _ORDERS[_size] = [tuple(_shuffler.sample(range(_size), _size)) for _ in range(_PERMUTATIONS)]


def choice(rng: random.Random, items: Sequence[T]) -> T:
    """``rng.choice`` without its rejection loop; the slight bias is irrelevant here."""
    return items[int(rng.random() * len(items))]


def fill(topic: Topic, rng: random.Random) -> Slots:
    """One value per slot, fixed for a conversation so rephrases keep the details."""
    return {name: choice(rng, values) for name, values in topic.slots.items()}


def sentences(topic: Topic, slots: Slots, count: int, rng: random.Random) -> str:
    """``count`` distinct general sentences of the topic (repeating only past the pool's size)."""
    pool = topic.answers
    if count > len(pool):
        return " ".join(choice(rng, pool).format_map(slots) for _ in range(count))
    order = choice(rng, _ORDERS[len(pool)])
    return " ".join(pool[index].format_map(slots) for index in order[:count])


def good_reply(topic: Topic, slots: Slots, direct: str | None, count: int, rng: random.Random,
               *, apologise: bool) -> str:
    """The direct answer to the question (when there is one) plus supporting sentences."""
    start = choice(rng, C.APOLOGIES) if apologise else choice(rng, C.OPENERS)
    body = [] if direct is None else [direct.format_map(slots)]
    if count > len(body):
        body.append(sentences(topic, slots, count - len(body), rng))
    return start + " ".join(body) + choice(rng, C.CLOSERS)


def summary(topic: Topic, slots: Slots, count: int, rng: random.Random) -> str:
    return choice(rng, C.SUMMARY_OPENERS) + sentences(topic, slots, count, rng)


def vague_reply(rng: random.Random) -> str:
    order = choice(rng, _ORDERS[len(C.VAGUE)])
    return " ".join(C.VAGUE[index] for index in order[: 2 + (rng.random() < 0.5)])


def truncated_reply(topic: Topic, slots: Slots, max_tokens: int, rng: random.Random) -> str:
    """A reply that ran into ``max_tokens``: long, and cut off mid-word."""
    limit = max_tokens * 4
    parts = [choice(rng, C.OPENERS)]
    size = 0
    while size < limit + 40:
        sentence = choice(rng, topic.answers).format_map(slots)
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)[:limit]


def document(topic: Topic, slots: Slots, rng: random.Random) -> str:
    """The text a user pastes to be summarised."""
    return sentences(topic, slots, min(len(topic.answers), 4 + int(rng.random() * 4)), rng)


def rephrase(text: str, rng: random.Random) -> str:
    return choice(rng, C.REPHRASE_PREFIXES) + text


def complaint(rng: random.Random, rephrased: str | None) -> str:
    said = choice(rng, C.COMPLAINTS)
    return said if rephrased is None else f"{said}. {rephrased}"


def shout(text: str) -> str:
    return text.upper().rstrip("?.!") + "!!!"
