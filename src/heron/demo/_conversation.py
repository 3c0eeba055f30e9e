"""One simulated conversation: who talks, what they ask, how they react.

A conversation is simulated whole, turn by turn, because what a user writes
next depends on the answer they just got: a poor answer is followed by a
rephrase, a repeat, a complaint (sometimes shouted) or by leaving; a good one
by a follow-up or thanks. The latent state that drives those choices is kept
next to every record as :class:`Truth`, so enrichers and detectors can be
scored against what really happened.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Mapping
from itertools import accumulate
from typing import Literal, cast

import msgspec

from heron.demo import _corpus as C
from heron.demo import _text
from heron.demo._calls import POOR_ANSWERS, Calls, Talk
from heron.demo._users import Population, User
from heron.demo.scenario import MODELS, Scenario
from heron.schema.records import Feedback, Interaction, Message

_PROMPT_QUALITY = {"v1": 1.25, "v2": 1.0, "v3": 0.9}
"""Poor-answer multiplier per prompt version: each rewrite helped a little."""
_MAX_TURNS = {"chat": 12, "search": 4, "summarize": 3, "classify": 1}
_CONTINUE = {"chat": 0.5, "search": 0.25, "summarize": 0.35, "classify": 0.0}
"""Chance the user planned one more follow-up, per turn."""
_SUMMARY_REPHRASES: tuple[str, ...] = ("Please just summarize the text I sent.", "Summarize the text above, please.")
_FRUSTRATED_INTENTS = frozenset({"rephrase", "repeat", "complaint"})


class Truth(msgspec.Struct, frozen=True):
    """What really happened at one turn, for scoring analytics against.

    ``intent`` is what the user's message does: ``question``, ``follow_up``,
    ``rephrase``, ``repeat``, ``complaint``, ``thanks`` or ``retry`` (the app
    resending after an error). ``answer`` is the reply's quality: ``good``,
    ``error`` or one of the poor kinds (``vague``, ``refusal``,
    ``repetitive``, ``truncated``, ``empty``, ``wrong`` for a misclassified
    intent). ``satisfaction`` (0..1) is the user's mood after reading it.
    ``last``/``abandoned``/``churned`` are set on a conversation's final turn
    (not when the window cut it short). ``incidents`` indexes
    ``Scenario.incidents`` that affected this turn.
    """

    topic: str
    intent: str
    rephrase: bool
    complaint: bool
    frustrated: bool
    answer: str
    satisfaction: float
    turn: int
    new_user: bool
    last: bool = False
    abandoned: bool = False
    churned: bool = False
    incidents: tuple[int, ...] = ()

    @property
    def poor(self) -> bool:
        return self.answer in POOR_ANSWERS


class GeneratedTurn(msgspec.Struct, frozen=True):
    """One generated LLM call with its feedback and the latent truth behind it.

    Frozen msgspec Structs rather than frozen dataclasses: a frozen
    dataclass costs over a microsecond per instance, a tenth of the budget
    for generating one turn.
    """

    interaction: Interaction
    truth: Truth
    feedback: tuple[Feedback, ...] = ()


def _cumulative(mix: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    items = [(key, weight) for key, weight in mix.items() if weight > 0]
    total = sum(weight for _, weight in items)
    return tuple(key for key, _ in items), tuple(accumulate(weight / total for _, weight in items))


def _end_of(record: Interaction) -> float:
    """``end_time``, always set as a float epoch by the time anyone asks."""
    return cast(float, record.end_time)


def _pick(rng: random.Random, keys: tuple[str, ...], cum: tuple[float, ...]) -> str:
    return keys[min(bisect_right(cum, rng.random()), len(keys) - 1)]


class Conversations:
    """Simulates the conversations of one scenario; all randomness from one seeded RNG."""

    def __init__(self, rng: random.Random, scenario: Scenario, population: Population) -> None:
        self._rng = rng
        self._s = scenario
        self._population = population
        self._calls = Calls(rng, scenario)
        self._end = math.inf if scenario.end is None else scenario.end
        self._models = _cumulative(scenario.model_mix)
        self._features = _cumulative(scenario.feature_mix)
        self._topics = _cumulative(scenario.topic_mix)
        self._system = {key: Message(role="system", content=text) for key, text in C.SYSTEM_PROMPTS.items()}
        labels = ", ".join(sorted(C.TOPICS))
        self._classify = Message(role="system", content=C.CLASSIFY_PROMPT.format(labels=labels))
        self._topical = tuple((i, x) for i, x in enumerate(scenario.incidents) if x.kind == "topic")

    def _id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def _topic(self, t: float, user: User) -> tuple[str, tuple[int, ...]]:
        rng = self._rng
        for index, x in self._topical:
            if x.start <= t < x.end and rng.random() < x.share:
                return x.topic or "", (index,)
        if rng.random() < 0.5:
            return _text.choice(rng, user.favourites), ()
        return _pick(rng, *self._topics), ()

    def run(self, t0: float) -> list[GeneratedTurn]:
        """Every turn of one conversation starting at ``t0`` (those before the window's end)."""
        rng, s = self._rng, self._s
        slot, user = self._population.pick(t0)
        new_user = user.conversations == 0 and user.joined >= s.start
        user.conversations += 1
        feature = _pick(rng, *self._features)
        model = _pick(rng, *self._models)
        app_version, version = user.versions(t0)
        topic_name, topic_hits = self._topic(t0, user)
        topic = C.TOPICS[topic_name]
        slots = _text.fill(topic, rng)
        p_poor, length, experiment, variant = self._calls.p_poor[model] * _PROMPT_QUALITY[version], 1.0, None, None
        x = s.experiment
        if feature == "chat" and x is not None and (x.start or t0) <= t0 < (x.end or math.inf):
            experiment, variant = x.name, x.variants[user.treated]
            if user.treated:
                p_poor, length = p_poor * x.poor_answer_factor, x.length_factor
        rag: tuple[str, ...] = ()
        if feature == "search":
            rag = ("product-docs", "web")
            context = _text.sentences(topic, slots, 2, rng)
            system = Message(role="system", content=f"{C.SYSTEM_PROMPTS[(feature, version)]}\n\nContext:\n{context}")
        elif feature == "classify":
            system = self._classify
        else:
            system = self._system[(feature, version)]
            rag = ("help-center",) if feature == "chat" and topic_name in C.SUPPORT_TOPICS else ()
        if feature == "summarize":
            group, direct = _SUMMARY_REPHRASES, None
            text = _text.choice(rng, C.SUMMARIZE_REQUESTS).format(doc=_text.document(topic, slots, rng))
        else:
            intent_index = int(rng.random() * len(topic.intents))
            group, direct = topic.intents[intent_index], topic.direct[intent_index]
            text = _text.choice(rng, group).format_map(slots)
        talk = Talk(user=user, feature=feature, model=model, profile=MODELS[model], version=version, topic=topic,
                    slots=slots, streaming=rng.random() < s.streaming_share, p_poor=p_poor, length=length,
                    history=[system], history_chars=len(system.content or ""), group=group, direct=direct,
                    question=text, text=text, satisfaction=user.mood)
        planned = 1
        while planned < _MAX_TURNS[feature] and rng.random() < _CONTINUE[feature]:
            planned += 1
        conversation_id = self._id()
        tags = {"feature": feature, "plan": user.plan}
        user_message = Message(role="user", content=text)
        turns: list[GeneratedTurn] = []
        t, ended, abandoned = t0, False, False
        for number in range(1, _MAX_TURNS[feature] + 1):
            if t >= self._end:
                break
            effects = self._calls.effects(t, model, version)
            record = Interaction(
                model=model, start_time=t, id=self._id(), conversation_id=conversation_id, user_id=user.id,
                provider=talk.profile.provider, operation="chat", app_version=app_version, prompt_version=version,
                rag_sources=list(rag), experiment=experiment, variant=variant,
                input=[*talk.history, user_message], tags=dict(tags),
                retry_of=turns[-1].interaction.id if talk.intent == "retry" and turns else None,
            )
            answer, output = self._calls.complete(record, talk, t, effects)
            if answer == "good":
                talk.satisfaction += (1.0 - talk.satisfaction) * 0.3
            elif answer == "error":
                talk.satisfaction *= 0.8
            else:
                talk.satisfaction *= 0.75 - 0.25 * (1.0 - user.patience)
            truth = Truth(topic_name, talk.intent, talk.rephrased, talk.complained,
                          talk.intent in _FRUSTRATED_INTENTS or talk.shouted, answer, round(talk.satisfaction, 3),
                          number, new_user, incidents=topic_hits + effects[5])
            turns.append(GeneratedTurn(record, truth, self._thumbs(record, feature, answer, talk.intent, topic_name)))
            if output is not None:
                talk.history.append(user_message)
                talk.history.append(Message(role="assistant", content=output))
                talk.history_chars += len(talk.text) + len(output)
                talk.previous = output
            think = None if feature == "classify" else self._next(talk, answer, number < _MAX_TURNS[feature],
                                                                   planned, number)
            if think is None:
                ended, abandoned = True, talk.intent == "abandon"
                break
            if talk.intent != "retry":  # a retry resends the very same input
                user_message = Message(role="user", content=talk.text)
            t = _end_of(record) + think
        if ended and turns:
            self._finish(turns, slot, user, talk.satisfaction, abandoned)
        return turns

    def _next(self, talk: Talk, answer: str, room: bool, planned: int, number: int) -> float | None:
        """Decide the user's next message; returns the think time, or ``None`` when they stop.

        ``talk.intent`` becomes ``"abandon"`` when they leave unhappy.
        """
        rng = self._rng
        if talk.intent == "thanks" or (not room and answer == "good"):
            return None
        talk.shouted = talk.complained = talk.rephrased = False
        if answer == "error":
            if not room or rng.random() > 0.6:
                talk.intent = "abandon"
                return None
            talk.intent = "retry"
            return 1.0 + 7.0 * rng.random()
        if answer in POOR_ANSWERS:
            talk.poor_run += 1
            if not room or rng.random() < 0.15 + 0.1 * talk.poor_run + 0.2 * (1.0 - talk.user.patience):
                talk.intent = "abandon"
                return None
            others = [g for g in talk.group if g.format_map(talk.slots) != talk.question] or list(talk.group)
            fresh = _text.rephrase(_text.choice(rng, others).format_map(talk.slots), rng)
            choice = rng.random()
            if choice < 0.45 and len(talk.group) > 1:
                talk.intent, talk.text, talk.rephrased = "rephrase", fresh, True
            elif choice < 0.6:
                talk.intent, talk.text, talk.rephrased = "repeat", talk.question, True
            else:
                with_question = rng.random() < 0.5
                talk.intent, talk.complained, talk.rephrased = "complaint", True, with_question
                talk.text = _text.complaint(rng, fresh if with_question else None)
            if rng.random() < (0.1 + 0.2 * talk.poor_run) * (1.2 - talk.user.patience):
                talk.text, talk.shouted = _text.shout(talk.text), True
            return math.exp(rng.gauss(math.log(9.0), 0.5))
        talk.poor_run = 0
        if number < planned:
            talk.intent = "follow_up"
            if talk.feature == "summarize":
                talk.group, talk.direct = (_text.choice(rng, C.SUMMARIZE_FOLLOW_UPS),), None
            elif rng.random() < 0.5:
                talk.group, talk.direct = (_text.choice(rng, talk.topic.follow_ups),), None
            else:
                index = int(rng.random() * len(talk.topic.intents))
                talk.group, talk.direct = talk.topic.intents[index], talk.topic.direct[index]
            talk.text = talk.question = _text.choice(rng, talk.group).format_map(talk.slots)
            return math.exp(rng.gauss(math.log(20.0), 0.6))
        if rng.random() < (0.35 if number > 1 else 0.15):
            talk.intent, talk.text = "thanks", _text.choice(rng, C.THANKS)
            return math.exp(rng.gauss(math.log(6.0), 0.5))
        return None

    def _thumbs(self, record: Interaction, feature: str, answer: str, intent: str, topic: str) -> tuple[Feedback, ...]:
        """Thumbs on a reply, or for ``classify`` the true label, arriving hours later."""
        rng = self._rng
        if feature == "classify":
            if rng.random() >= self._s.label_share:
                return ()
            when = _end_of(record) + 3600.0 * (1.0 + 23.0 * rng.random())
            return self._feedback(record, when, label=topic, source="ground_truth")
        good = answer == "good"
        p = (0.12 if intent == "thanks" else 0.05) if good else (0.03 if answer == "error" else 0.15)
        if rng.random() >= p:
            return ()
        up = rng.random() < (0.93 if good else 0.05)
        comment = _text.choice(rng, C.THUMBS_COMMENTS_BAD) if not up and rng.random() < 0.3 else None
        when = _end_of(record) + math.exp(rng.gauss(math.log(6.0), 0.8))
        return self._feedback(record, when, thumbs="up" if up else "down", comment=comment)

    def _feedback(self, record: Interaction, when: float, *, thumbs: Literal["up", "down"] | None = None,
                  rating: float | None = None, comment: str | None = None, label: str | None = None,
                  source: str = "user") -> tuple[Feedback, ...]:
        """A feedback record, or none when it would arrive after the window."""
        if when >= self._end:
            return ()
        return (Feedback(interaction_id=record.id or "", id=self._id(), time=when, thumbs=thumbs, rating=rating,
                         comment=comment, label=label, source=source, user_id=record.user_id,
                         conversation_id=record.conversation_id),)

    def _finish(self, turns: list[GeneratedTurn], slot: int, user: User, satisfaction: float,
                abandoned: bool) -> None:
        """Close a conversation: maybe a rating, maybe the user leaves for good."""
        rng = self._rng
        last = turns[-1]
        record = last.interaction
        churn = 0.002 + (0.15 * (1.0 - user.patience) if satisfaction < 0.35 else 0.0)
        churned = rng.random() < churn
        if churned:
            self._population.churn(slot, user, cast(float, record.start_time))
        feedback = last.feedback
        if rng.random() < 0.05 and record.tags["feature"] != "classify":
            rating = min(5, max(1, round(1 + 4 * satisfaction + rng.gauss(0.0, 0.5))))
            comment = None
            if rng.random() < 0.5:
                pool = (C.THUMBS_COMMENTS_GOOD if rating >= 4 else
                        C.THUMBS_COMMENTS_BAD if rating <= 2 else C.COMMENTS_NEUTRAL)
                comment = _text.choice(rng, pool)
            when = _end_of(record) + math.exp(rng.gauss(math.log(30.0), 0.7))
            feedback += self._feedback(record, when, rating=float(rating), comment=comment)
        t = last.truth
        truth = Truth(t.topic, t.intent, t.rephrase, t.complaint, t.frustrated, t.answer, t.satisfaction, t.turn,
                      t.new_user, True, abandoned, churned, t.incidents)
        turns[-1] = GeneratedTurn(record, truth, feedback)
