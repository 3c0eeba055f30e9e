"""What the model does with one request: fail, answer well or poorly, and how fast.

Separated from the user's side of the conversation (``_conversation``) so
each reads as one set of decisions. Per-model probabilities are rescaled once
so that, over the scenario's model mix, the baseline error and poor-answer
rates are what the scenario asks for; incidents then multiply them.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from heron.demo import _corpus as C
from heron.demo import _text
from heron.demo._corpus import Topic
from heron.demo._users import User
from heron.demo.scenario import ERROR_TYPES, MODELS, ModelProfile, Scenario
from heron.schema.records import Interaction, Message

POOR_ANSWERS = frozenset({"vague", "refusal", "repetitive", "truncated", "empty", "wrong"})
_POOR_KINDS = ("vague", "refusal", "repetitive", "truncated", "empty")
_POOR_CUM = tuple(accumulate((0.38, 0.2, 0.17, 0.15, 0.1)))
_ERROR_CUM = tuple(accumulate((0.4, 0.25, 0.2, 0.15)))
_CACHING_PROVIDERS = frozenset({"openai", "anthropic"})
_SEARCH_SOURCES = ("product-docs", "web")
Effects = tuple[float, float, float, float, str | None, tuple[int, ...]]
_NO_EFFECT: Effects = (1.0, 1.0, 1.0, 1.0, None, ())


@dataclass(slots=True)
class Talk:
    """One conversation in progress: what is fixed at its start, and the user's state."""

    user: User
    feature: str
    model: str
    profile: ModelProfile
    version: str
    topic: Topic
    slots: _text.Slots
    streaming: bool
    p_poor: float
    length: float
    history: list[Message]
    history_chars: int
    group: tuple[str, ...]
    """Paraphrases of the question being asked; a rephrase picks another one."""
    direct: str | None
    """The direct answer to that question, when it has one."""
    question: str
    text: str
    satisfaction: float
    intent: str = "question"
    rephrased: bool = False
    complained: bool = False
    shouted: bool = False
    poor_run: int = 0
    previous: str | None = None
    """The last assistant reply, for a model that repeats itself."""


class Calls:
    """Fills in the outcome of each simulated LLM call."""

    def __init__(self, rng: random.Random, scenario: Scenario) -> None:
        self._rng = rng
        total = sum(scenario.model_mix.values())
        mix = {model: weight / total for model, weight in scenario.model_mix.items()}
        mean_error = sum(MODELS[m].error_weight * w for m, w in mix.items()) or 1.0
        mean_poor = sum(MODELS[m].poor_weight * w for m, w in mix.items()) or 1.0
        self.p_error = {m: scenario.error_rate * p.error_weight / mean_error for m, p in MODELS.items()}
        self.p_poor = {m: scenario.poor_answer_rate * p.poor_weight / mean_poor for m, p in MODELS.items()}
        self._timed = tuple((i, x) for i, x in enumerate(scenario.incidents) if x.kind not in ("topic", "traffic"))
        self._traffic = tuple((i, x) for i, x in enumerate(scenario.incidents) if x.kind == "traffic")
        self._labels = tuple(sorted(C.TOPICS))

    def effects(self, t: float, model: str, version: str) -> Effects:
        """Latency, error, poor-answer and length factors, a forced error type, and incident indexes."""
        if not self._timed and not self._traffic:
            return _NO_EFFECT
        lat = err = poor = length = 1.0
        forced: str | None = None
        hits = tuple(i for i, x in self._traffic if x.start <= t < x.end)
        for index, x in self._timed:
            if not x.start <= t < x.end or (x.model or model) != model or (x.prompt_version or version) != version:
                continue
            hits += (index,)
            if x.kind == "latency":
                lat *= x.factor
            elif x.kind == "errors":
                err *= x.factor
                if x.error_type is not None and x.factor > 1 and self._rng.random() > 1 / x.factor:
                    forced = x.error_type
            elif x.kind == "quality":
                poor *= x.factor
            elif x.kind == "length":
                length *= x.factor
        return lat, err, poor, length, forced, hits

    def complete(self, record: Interaction, talk: Talk, t: float, effects: Effects) -> tuple[str, str | None]:
        """Set the outcome fields of ``record``; returns (answer quality, output)."""
        rng = self._rng
        lat_f, err_f, poor_f, len_f, forced, _ = effects
        profile = talk.profile
        if rng.random() < self.p_error[talk.model] * err_f:
            kind = forced or ERROR_TYPES[min(bisect_right(_ERROR_CUM, rng.random()), len(ERROR_TYPES) - 1)]
            record.status, record.error_type = "error", kind
            record.error_message = C.ERROR_MESSAGES[kind].format(model=talk.model)
            record.latency_ms = _error_latency(kind, rng)
            record.end_time = t + record.latency_ms / 1000.0
            return "error", None
        answer, output = self._reply(talk, talk.p_poor * poor_f, talk.length * len_f)
        in_tokens = (talk.history_chars + len(talk.text)) // 4 + 4 * (len(talk.history) + 1)
        out_tokens = (len(output) + 3) // 4
        record.finish_reason = "stop"
        if answer == "truncated":
            out_tokens, record.finish_reason = profile.max_output_tokens, "length"
        ttft = profile.ttft_ms * math.exp(rng.gauss(0.0, 0.3)) + in_tokens * profile.prefill_ms_per_token
        latency = ttft + out_tokens * 1000.0 / profile.tokens_per_s * math.exp(rng.gauss(0.0, 0.15))
        if rng.random() < 0.01:  # the slow tail every provider has
            latency *= 2.0 + 3.0 * rng.random()
        record.latency_ms = latency * lat_f
        if talk.streaming:
            record.ttft_ms = ttft * lat_f
        record.end_time = t + record.latency_ms / 1000.0
        record.status, record.output = "ok", output
        record.input_tokens, record.output_tokens = in_tokens, out_tokens
        if talk.history_chars >= 4096 and profile.provider in _CACHING_PROVIDERS:
            record.cached_tokens = talk.history_chars // 512 * 128  # the prompt prefix, in 128-token blocks
        return answer, output

    def _reply(self, talk: Talk, p_poor: float, length: float) -> tuple[str, str]:
        rng = self._rng
        if talk.intent == "thanks":
            return "good", _text.choice(rng, C.WELCOMES)
        topic, slots = talk.topic, talk.slots
        poor = rng.random() < p_poor
        if talk.feature == "classify":
            if not poor:
                return "good", topic.name
            return "wrong", _text.choice(rng, [label for label in self._labels if label != topic.name])
        count = max(1, round((2 + int(rng.random() * 4)) * length))
        if not poor:
            if talk.feature == "summarize":
                return "good", _text.summary(topic, slots, max(1, count // 2), rng)
            reply = _text.good_reply(topic, slots, talk.direct, count, rng, apologise=talk.complained)
            if talk.feature == "search":
                reply += f" [{_text.choice(rng, _SEARCH_SOURCES)}]"
            return "good", reply
        kind = _POOR_KINDS[min(bisect_right(_POOR_CUM, rng.random() * _POOR_CUM[-1]), len(_POOR_KINDS) - 1)]
        if kind == "repetitive" and talk.previous:
            return kind, talk.previous
        if kind == "refusal":
            return kind, _text.choice(rng, C.REFUSALS)
        if kind == "truncated":
            return kind, _text.truncated_reply(topic, slots, talk.profile.max_output_tokens, rng)
        if kind == "empty":
            return kind, ""
        return "vague", _text.vague_reply(rng)


def _error_latency(error_type: str, rng: random.Random) -> float:
    """Failed calls fail fast (rate limits) or slowly (timeouts at the client's 30/60 s)."""
    if error_type == "APITimeoutError":
        return (30_000.0 if rng.random() < 0.5 else 60_000.0) + 250.0 * rng.random()
    if error_type == "RateLimitError":
        return 40.0 + 360.0 * rng.random()
    if error_type == "InternalServerError":
        return 300.0 + 3_700.0 * rng.random()
    return 20.0 + 2_980.0 * rng.random()
