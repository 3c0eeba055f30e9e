"""The knobs of a generated traffic scenario, and the model profiles they choose from.

A :class:`Scenario` is plain frozen data so that a test, a benchmark and the
demo can name exactly the traffic they want and get the same records back for
the same seed. Incidents are data too: a detector test injects one and later
asks whether it was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Literal, get_args

from heron.demo._corpus import DEFAULT_TOPIC_MIX, TOPICS
from heron.errors import ConfigError
from heron.schema import limits as L

IncidentKind = Literal["latency", "errors", "quality", "length", "traffic", "topic"]
INCIDENT_KINDS: tuple[str, ...] = get_args(IncidentKind)
FEATURES: tuple[str, ...] = ("chat", "search", "summarize", "classify")
ERROR_TYPES: tuple[str, ...] = ("RateLimitError", "APITimeoutError", "InternalServerError", "APIConnectionError")
DEFAULT_START = 1_736_121_600.0
"""2025-01-06T00:00:00Z, a Monday, so a default week starts on a week boundary."""
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """How one model behaves; the weights are relative and rescaled over the model mix."""

    provider: str
    ttft_ms: float
    """Median time to first token for a short prompt."""
    tokens_per_s: float
    prefill_ms_per_token: float
    error_weight: float
    poor_weight: float
    max_output_tokens: int


MODELS: dict[str, ModelProfile] = {
    "gpt-4o": ModelProfile("openai", 420.0, 85.0, 0.020, 0.8, 0.7, 1024),
    "gpt-4o-mini": ModelProfile("openai", 300.0, 130.0, 0.010, 0.9, 1.2, 1024),
    "claude-3-5-sonnet": ModelProfile("anthropic", 650.0, 70.0, 0.025, 1.3, 0.6, 1024),
    "llama-3.1-70b-instruct": ModelProfile("together", 250.0, 150.0, 0.015, 1.6, 1.6, 512),
}
DEFAULT_MODEL_MIX = {"gpt-4o": 0.30, "gpt-4o-mini": 0.35, "claude-3-5-sonnet": 0.20, "llama-3.1-70b-instruct": 0.15}
DEFAULT_FEATURE_MIX = {"chat": 0.65, "search": 0.15, "summarize": 0.10, "classify": 0.10}


@dataclass(frozen=True, slots=True)
class Incident:
    """Something going wrong (or changing) for a while, for detectors to find.

    ``factor`` multiplies the kind's quantity: latency and TTFT (``latency``),
    the error probability (``errors``), the poor-answer probability, hence
    frustration (``quality``), the reply length (``length``), or the arrival
    rate (``traffic``). A ``topic`` incident makes ``share`` of the new
    conversations be about ``topic`` (e.g. ``"taxes"``). ``model`` and
    ``prompt_version`` narrow it; ``duration=None`` means it never ends.
    """

    kind: IncidentKind
    start: float
    _: KW_ONLY
    duration: float | None = 1800.0
    model: str | None = None
    prompt_version: str | None = None
    factor: float = 3.0
    topic: str | None = None
    share: float = 0.2
    error_type: str | None = None
    """For ``errors``: the type every extra error gets; mixed types when ``None``."""

    @property
    def end(self) -> float:
        return float("inf") if self.duration is None else self.start + self.duration

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            raise ConfigError(f"unknown incident kind {self.kind!r}; valid: {', '.join(INCIDENT_KINDS)}")
        if self.model is not None and self.model not in MODELS:
            raise ConfigError(f"incident model {self.model!r} unknown; valid: {', '.join(MODELS)}")
        if self.kind == "topic" and self.topic not in TOPICS:
            raise ConfigError(f"incident topic {self.topic!r} unknown; valid: {', '.join(TOPICS)}")
        if self.error_type is not None and self.error_type not in ERROR_TYPES:
            raise ConfigError(f"incident error_type {self.error_type!r} unknown; valid: {', '.join(ERROR_TYPES)}")
        if self.factor < 0 or not 0.0 <= self.share <= 1.0 or (self.duration is not None and self.duration <= 0):
            raise ConfigError("incident needs factor >= 0, 0 <= share <= 1 and a positive duration")


@dataclass(frozen=True, slots=True)
class Experiment:
    """A two-arm A/B test on the chat feature, assigned per user.

    The treatment (``variants[1]``) replies shorter and, by default, a little
    better, so an experiment analysis has a real but modest effect to find.
    """

    name: str = "reply-style"
    variants: tuple[str, str] = ("control", "concise")
    start: float | None = None
    end: float | None = None
    length_factor: float = 0.6
    poor_answer_factor: float = 0.8


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Everything that shapes generated traffic; the same scenario gives the same records.

    Rates are baselines: the error and poor-answer probabilities are rescaled
    over the model mix so that, without incidents, about ``error_rate`` of all
    calls fail and about ``poor_answer_rate`` of answers are poor (prompt
    versions and the experiment move the latter a little). ``end=None`` is
    open-ended, for live traffic. ``prompt_v3_at`` is when app 2.1.0, which
    ships prompt ``v3``, starts rolling out (users upgrade over about a day);
    ``None`` puts it 60% into the window, or 3 days in when open-ended.
    """

    seed: int = 0
    start: float = DEFAULT_START
    end: float | None = DEFAULT_START + 7 * DAY
    users: int = 2_000
    """Size of the user base; churned users are replaced by newcomers so traffic never runs dry."""
    interactions_per_hour: float = 600.0
    new_user_share: float = 0.4
    """Share of the user base that signs up during the window rather than before it."""
    error_rate: float = 0.02
    poor_answer_rate: float = 0.12
    streaming_share: float = 0.6
    diurnal_amplitude: float = 0.6
    """Traffic peaks at 1 + amplitude times the daily mean (15:00 UTC), bottoms at 1 - amplitude."""
    weekend_factor: float = 0.75
    """Weekend traffic relative to weekdays."""
    label_share: float = 0.5
    """Share of ``classify`` calls that later get a ground-truth label."""
    model_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MODEL_MIX))
    feature_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FEATURE_MIX))
    topic_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TOPIC_MIX))
    prompt_v3_at: float | None = None
    experiment: Experiment | None = field(default_factory=Experiment)
    incidents: tuple[Incident, ...] = ()

    def __post_init__(self) -> None:
        if self.start < L.MIN_TIMESTAMP:
            raise ConfigError(f"start is before 2000-01-01 (epoch {L.MIN_TIMESTAMP:.0f}); use epoch seconds")
        if self.end is not None and self.end <= self.start:
            raise ConfigError("end must be after start")
        if self.users < 1 or self.interactions_per_hour <= 0:
            raise ConfigError("users and interactions_per_hour must be positive")
        for name in ("new_user_share", "error_rate", "poor_answer_rate", "streaming_share", "label_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1")
        if not 0.0 <= self.diurnal_amplitude < 1.0 or self.weekend_factor <= 0:
            raise ConfigError("diurnal_amplitude must be in [0, 1) and weekend_factor positive")
        _check_mix("model_mix", self.model_mix, MODELS)
        _check_mix("feature_mix", self.feature_mix, FEATURES)
        _check_mix("topic_mix", self.topic_mix, TOPICS)

    @property
    def v3_at(self) -> float:
        """When prompt v3 starts rolling out (see ``prompt_v3_at``)."""
        if self.prompt_v3_at is not None:
            return self.prompt_v3_at
        if self.end is None:
            return self.start + 3 * DAY
        return self.start + 0.6 * (self.end - self.start)


def _check_mix(name: str, mix: Mapping[str, float], valid: Mapping[str, object] | tuple[str, ...]) -> None:
    unknown = [key for key in mix if key not in valid]
    if unknown:
        raise ConfigError(f"{name} has unknown keys {unknown}; valid: {', '.join(valid)}")
    if not mix or any(weight < 0 for weight in mix.values()) or sum(mix.values()) <= 0:
        raise ConfigError(f"{name} needs non-negative weights with a positive sum")
