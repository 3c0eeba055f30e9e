"""The demo traffic generator: deterministic, valid, and shaped the way the scenario says."""

from __future__ import annotations

import collections
import itertools
import statistics
from collections.abc import Callable, Iterable
from typing import cast

import msgspec
import pytest

from heron.demo import _corpus
from heron.demo.generator import (
    DEFAULT_START,
    ERROR_TYPES,
    MODELS,
    GeneratedTurn,
    Incident,
    Scenario,
    generate,
    live,
    rate_at,
    records,
)
from heron.demo.scenario import DAY
from heron.errors import ConfigError
from heron.schema import limits as L
from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, Interaction

FAR_FUTURE = 4_102_444_800.0  # 2100-01-01
HOUR = 3600.0


def start(turn: GeneratedTurn) -> float:
    return cast(float, turn.interaction.start_time)


def end(turn: GeneratedTurn) -> float:
    return cast(float, turn.interaction.end_time)


def moment(record: Interaction | Feedback) -> float:
    """When an application would send ``record``."""
    return cast(float, record.end_time if isinstance(record, Interaction) else record.time)


def share(turns: Iterable[GeneratedTurn], predicate: Callable[[GeneratedTurn], bool]) -> float:
    items = list(turns)
    return sum(1 for t in items if predicate(t)) / len(items)


@pytest.fixture(scope="module")
def week() -> list[GeneratedTurn]:
    """A default week (Monday to Sunday) at 1,000 interactions per hour."""
    return list(generate(Scenario(seed=11, interactions_per_hour=1000)))


INCIDENT_START = DEFAULT_START + DAY
INCIDENTS = (
    Incident("latency", INCIDENT_START + 10 * HOUR, duration=HOUR, model="gpt-4o", factor=3.0),
    Incident("errors", INCIDENT_START + 14 * HOUR, duration=HOUR, model="claude-3-5-sonnet", factor=15.0,
             error_type="RateLimitError"),
    Incident("topic", INCIDENT_START, duration=None, topic="taxes", share=0.2),
    Incident("quality", DEFAULT_START, duration=None, prompt_version="v3", factor=3.0),
    Incident("traffic", INCIDENT_START + 20 * HOUR, duration=2 * HOUR, factor=3.0),
    Incident("length", DEFAULT_START + 6 * HOUR, duration=6 * HOUR, model="llama-3.1-70b-instruct", factor=2.5),
)


@pytest.fixture(scope="module")
def incidents() -> list[GeneratedTurn]:
    scenario = Scenario(seed=5, end=DEFAULT_START + 2 * DAY, interactions_per_hour=1500,
                        prompt_v3_at=DEFAULT_START + 6 * HOUR, incidents=INCIDENTS)
    return list(generate(scenario))


def test_same_seed_gives_the_same_records_and_another_seed_does_not() -> None:
    def encoded(seed: int) -> list[bytes]:
        scenario = Scenario(seed=seed, end=DEFAULT_START + DAY, interactions_per_hour=200)
        return [msgspec.json.encode(turn) for turn in generate(scenario)]

    first = encoded(3)
    assert first == encoded(3)
    assert first != encoded(4)
    assert len(first) > 3000


def test_turns_are_ordered_by_start_time_within_the_window(week: list[GeneratedTurn]) -> None:
    times = [start(t) for t in week]
    assert times == sorted(times)
    assert times[0] >= DEFAULT_START and times[-1] < DEFAULT_START + 7 * DAY
    ids = [t.interaction.id for t in week]
    assert len(set(ids)) == len(ids)


def test_records_validate_and_normalize(week: list[GeneratedTurn]) -> None:
    for turn in week[::7]:
        builtins = msgspec.to_builtins(turn.interaction)
        item = msgspec.convert(builtins, Interaction)
        assert msgspec.json.decode(msgspec.json.encode(item), type=Interaction) == item
        normalize_interaction(item, project="demo", now=FAR_FUTURE)
        assert item.id == turn.interaction.id and item.status == turn.interaction.status
        assert len(item.input) <= L.MAX_MESSAGES and len(item.tags) <= L.MAX_TAGS
        for feedback in turn.feedback:
            fb = msgspec.convert(msgspec.to_builtins(feedback), Feedback)
            normalize_feedback(fb, project="demo", now=FAR_FUTURE)


def test_volume_error_rate_model_mix_and_streaming_follow_the_knobs(week: list[GeneratedTurn]) -> None:
    assert len(week) / (7 * 24) == pytest.approx(1000, rel=0.05)
    assert share(week, lambda t: t.interaction.status == "error") == pytest.approx(0.02, rel=0.15)
    first_turns = [t for t in week if t.truth.turn == 1]
    mix = collections.Counter(t.interaction.model for t in first_turns)
    for model, weight in Scenario().model_mix.items():
        assert mix[model] / len(first_turns) == pytest.approx(weight, abs=0.015)
        provider = {t.interaction.provider for t in first_turns if t.interaction.model == model}
        assert provider == {MODELS[model].provider}
    answered = [t for t in week if t.interaction.status == "ok"]
    assert share(answered, lambda t: t.interaction.ttft_ms is not None) == pytest.approx(0.6, abs=0.03)


def test_traffic_has_a_diurnal_and_weekly_rhythm(week: list[GeneratedTurn]) -> None:
    by_hour = collections.Counter(int(start(t) % DAY // HOUR) for t in week)
    afternoon = sum(by_hour[h] for h in range(13, 18))
    night = sum(by_hour[h] for h in range(1, 6))
    assert afternoon > 2.5 * night
    by_day = collections.Counter(int((start(t) - DEFAULT_START) // DAY) for t in week)
    weekday = statistics.mean(by_day[d] for d in range(5))
    weekend = statistics.mean(by_day[d] for d in (5, 6))
    assert weekend / weekday == pytest.approx(0.75, abs=0.06)
    assert rate_at(Scenario(), DEFAULT_START + 15 * HOUR) == pytest.approx(600 * 1.6 * 7 / 6.5)


def test_frustration_shows_in_the_messages(week: list[GeneratedTurn]) -> None:
    frustrated = share(week, lambda t: t.truth.frustrated)
    assert 0.03 < frustrated < 0.12
    complaints = [t for t in week if t.truth.intent == "complaint"]
    said = {c.lower().rstrip(".?!") for c in _corpus.COMPLAINTS}
    assert complaints and all(any(s in user_text(t).lower() for s in said) for t in complaints)
    assert any(user_text(t).endswith("!!!") and user_text(t).isupper() for t in week if t.truth.frustrated)
    # Frustration follows poor answers: the previous turn of a rephrase was poor.
    previous: dict[str | None, GeneratedTurn] = {}
    for turn in week:
        conversation = turn.interaction.conversation_id
        if turn.truth.intent in ("rephrase", "repeat", "complaint"):
            assert previous[conversation].truth.poor
        previous[conversation] = turn
    repeats = [t for t in week if t.truth.intent == "repeat" and not user_text(t).endswith("!!!")]
    assert repeats and all(user_text(t) in [m.content for m in t.interaction.input[1:-1]] for t in repeats)


def user_text(turn: GeneratedTurn) -> str:
    content = turn.interaction.input[-1].content
    assert isinstance(content, str)
    return content


def test_more_poor_answers_mean_more_frustration() -> None:
    def frustrated(rate: float) -> float:
        scenario = Scenario(seed=2, end=DEFAULT_START + DAY, interactions_per_hour=1000, poor_answer_rate=rate)
        return share(generate(scenario), lambda t: t.truth.frustrated)

    assert frustrated(0.3) > 2 * frustrated(0.1)


def test_answers_look_like_their_quality(week: list[GeneratedTurn]) -> None:
    kinds = collections.Counter(t.truth.answer for t in week)
    assert {"good", "error", "vague", "refusal", "repetitive", "truncated", "empty", "wrong"} <= set(kinds)
    for turn in week:
        record, answer = turn.interaction, turn.truth.answer
        if answer == "error":
            assert record.status == "error" and record.error_type in ERROR_TYPES
            assert record.output is None and record.output_tokens is None and record.error_message
        else:
            assert record.status == "ok" and record.output is not None
            assert record.ttft_ms is None or record.ttft_ms <= record.latency_ms  # type: ignore[operator]
        if answer == "refusal":
            assert record.output in _corpus.REFUSALS
        elif answer == "truncated":
            assert record.finish_reason == "length"
            assert record.output_tokens == MODELS[record.model].max_output_tokens
        elif answer == "empty":
            assert record.output == "" and record.output_tokens == 0
        elif answer == "wrong":
            assert record.output != turn.truth.topic and record.tags["feature"] == "classify"


def test_feedback_refers_to_earlier_interactions(week: list[GeneratedTurn]) -> None:
    ends = {t.interaction.id: end(t) for t in week}
    feedback = [(t, f) for t in week for f in t.feedback]
    assert len(feedback) > 1000
    for turn, item in feedback:
        assert item.interaction_id == turn.interaction.id and item.interaction_id in ends
        assert ends[item.interaction_id] < moment(item) < DEFAULT_START + 7 * DAY
        assert item.user_id == turn.interaction.user_id
        if item.label is not None:
            assert item.label == turn.truth.topic and item.source == "ground_truth"
            assert moment(item) - ends[item.interaction_id] >= HOUR
    thumbs = [(t.truth.answer, f.thumbs) for t, f in feedback if f.thumbs]
    good = [thumb for answer, thumb in thumbs if answer == "good"]
    poor = [thumb for answer, thumb in thumbs if answer != "good"]
    assert good.count("up") / len(good) > 0.85 and poor.count("down") / len(poor) > 0.85
    ratings = [(t.truth.satisfaction, f.rating) for t, f in feedback if f.rating is not None]
    assert ratings and all(1 <= r <= 5 for _, r in ratings)
    assert statistics.correlation([s for s, _ in ratings], [float(r) for _, r in ratings]) > 0.5


def test_conversations_are_coherent(week: list[GeneratedTurn]) -> None:
    conversations: dict[str, list[GeneratedTurn]] = collections.defaultdict(list)
    for turn in week:
        conversations[turn.interaction.conversation_id or ""].append(turn)
    lengths = collections.Counter(len(turns) for turns in conversations.values())
    assert lengths[1] and lengths[2] and max(lengths) >= 6
    for turns in conversations.values():
        first = turns[0].interaction
        assert [t.truth.turn for t in turns] == list(range(1, len(turns) + 1))
        assert first.input[0].role == "system" and first.input[-1].role == "user"
        for before, after in itertools.pairwise(turns):
            a, b = before.interaction, after.interaction
            assert start(after) > end(before)
            assert (a.user_id, a.model, a.prompt_version, a.tags) == (b.user_id, b.model, b.prompt_version, b.tags)
            assert after.truth.topic == before.truth.topic
            if after.truth.intent == "retry":
                assert b.input == a.input
            else:
                assert b.input[: len(a.input)] == a.input and len(b.input) == len(a.input) + 2
                assert b.input[-2].content == a.output
        assert sum(t.truth.last for t in turns) <= 1 and not any(t.truth.last for t in turns[:-1])


def test_users_arrive_over_time_and_churned_users_do_not_return(week: list[GeneratedTurn]) -> None:
    first_seen: dict[str, float] = {}
    churned_at: dict[str, float] = {}
    for turn in week:
        user = turn.interaction.user_id or ""
        first_seen.setdefault(user, start(turn))
        assert user not in churned_at or start(turn) - churned_at[user] < HOUR  # only a conversation in flight
        if turn.truth.churned:
            churned_at[user] = start(turn)
    new_by_day = collections.Counter(int((t - DEFAULT_START) // DAY) for t in first_seen.values())
    assert all(new_by_day[day] > 30 for day in range(1, 7))
    assert len(churned_at) > 50
    visits = collections.Counter(t.interaction.user_id for t in week if t.truth.turn == 1)
    counts = sorted(visits.values())
    assert counts[len(counts) * 9 // 10] > 3 * counts[len(counts) // 2]  # heavy users and light ones


def test_prompt_v3_rolls_out_and_the_experiment_splits_chat(week: list[GeneratedTurn]) -> None:
    rollout = Scenario().v3_at
    assert not any(t.interaction.prompt_version == "v3" for t in week if start(t) < rollout)
    last_day = [t for t in week if start(t) >= DEFAULT_START + 6 * DAY]
    assert share(last_day, lambda t: t.interaction.prompt_version == "v3") > 0.6
    assert {t.interaction.app_version for t in last_day} == {"1.9.4", "2.0.3", "2.1.0"}
    chat = [t for t in week if t.interaction.tags["feature"] == "chat"]
    assert all(t.interaction.variant in ("control", "concise") for t in chat)
    assert not any(t.interaction.variant for t in week if t.interaction.tags["feature"] != "chat")
    good = [t for t in chat if t.truth.answer == "good" and t.truth.intent != "thanks"]
    tokens = {v: statistics.mean(t.interaction.output_tokens or 0 for t in good if t.interaction.variant == v)
              for v in ("control", "concise")}
    assert tokens["concise"] < 0.85 * tokens["control"]


def test_latency_spike_shows_on_its_model_only(incidents: list[GeneratedTurn]) -> None:
    spike = INCIDENTS[0]

    def median_latency(model: str, inside: bool) -> float:
        return statistics.median(
            t.interaction.latency_ms or 0.0 for t in incidents
            if t.interaction.model == model and t.truth.answer == "good"
            and (spike.start <= start(t) < spike.end) == inside)

    assert median_latency("gpt-4o", True) > 2.5 * median_latency("gpt-4o", False)
    assert median_latency("gpt-4o-mini", True) < 1.3 * median_latency("gpt-4o-mini", False)
    flagged = {start(t) for t in incidents if 0 in t.truth.incidents}
    assert flagged and all(spike.start <= s < spike.end for s in flagged)


def test_error_burst_shows_in_its_window(incidents: list[GeneratedTurn]) -> None:
    burst = INCIDENTS[1]
    claude = [t for t in incidents if t.interaction.model == "claude-3-5-sonnet"]
    inside = [t for t in claude if burst.start <= start(t) < burst.end]
    outside = [t for t in claude if start(t) < burst.start]
    assert share(inside, lambda t: t.interaction.status == "error") > 0.2
    assert share(outside, lambda t: t.interaction.status == "error") < 0.05
    errors = collections.Counter(t.interaction.error_type for t in inside if t.interaction.error_type)
    assert errors.most_common(1)[0][0] == "RateLimitError"


def test_new_topic_appears_from_its_start(incidents: list[GeneratedTurn]) -> None:
    taxes = [t for t in incidents if t.truth.topic == "taxes"]
    assert taxes and min(start(t) for t in taxes) >= INCIDENTS[2].start
    later = [t for t in incidents if start(t) >= INCIDENTS[2].start and t.truth.turn == 1]
    assert share(later, lambda t: t.truth.topic == "taxes") == pytest.approx(0.2, abs=0.03)


def test_prompt_quality_incident_raises_frustration(incidents: list[GeneratedTurn]) -> None:
    def frustrated(version: str) -> float:
        return share((t for t in incidents if t.interaction.prompt_version == version), lambda t: t.truth.frustrated)

    assert frustrated("v3") > 2 * frustrated("v2")


def test_traffic_surge_and_longer_replies(incidents: list[GeneratedTurn]) -> None:
    surge = INCIDENTS[4]
    during = sum(1 for t in incidents if surge.start <= start(t) < surge.end)
    day_before = sum(1 for t in incidents if surge.start - DAY <= start(t) < surge.end - DAY)
    assert during / day_before == pytest.approx(3.0, rel=0.2)
    verbose = INCIDENTS[5]

    def tokens(inside: bool) -> float:
        return statistics.mean(
            t.interaction.output_tokens or 0 for t in incidents
            if t.interaction.model == "llama-3.1-70b-instruct" and t.truth.answer == "good"
            and t.interaction.tags["feature"] in ("chat", "search") and t.truth.intent != "thanks"
            and (verbose.start <= start(t) < verbose.end) == inside)

    assert tokens(True) > 1.6 * tokens(False)


def test_records_come_in_the_order_an_app_sends_them() -> None:
    scenario = Scenario(seed=9, end=DEFAULT_START + 12 * HOUR, interactions_per_hour=500)
    stream = list(records(scenario))
    moments = [moment(r) for r in stream]
    assert moments == sorted(moments)
    turns = list(generate(scenario))
    assert sum(isinstance(r, Interaction) for r in stream) == len(turns)
    assert sum(isinstance(r, Feedback) for r in stream) == sum(len(t.feedback) for t in turns)


def test_live_backfills_at_once_then_follows_the_clock() -> None:
    now = [DEFAULT_START + 2 * HOUR]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    scenario = Scenario(seed=1, start=DEFAULT_START, end=None, interactions_per_hour=600)
    backfill = 0
    for count, record in enumerate(live(scenario, clock=lambda: now[0], sleep=sleep)):
        assert moment(record) <= now[0]
        if isinstance(record, Interaction):  # what a server would accept at that moment
            normalize_interaction(msgspec.convert(msgspec.to_builtins(record), Interaction), project="demo", now=now[0])
        if not slept:
            backfill += 1
        if count == backfill + 200:
            break
    assert backfill > 500 and len(slept) > 100 and all(s > 0 for s in slept)


def test_invalid_knobs_are_rejected_with_the_valid_choices() -> None:
    with pytest.raises(ConfigError, match="latency"):
        Incident("meltdown", DEFAULT_START)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="gpt-4o-mini"):
        Scenario(model_mix={"gpt-5": 1.0})
    with pytest.raises(ConfigError, match="taxes"):
        Incident("topic", DEFAULT_START, topic="astrology")
    with pytest.raises(ConfigError, match="end"):
        Scenario(end=DEFAULT_START - 1)
    with pytest.raises(ConfigError, match="error_rate"):
        Scenario(error_rate=1.5)


def test_every_template_fills_with_its_topic_slots() -> None:
    for topic in _corpus.TOPICS.values():
        values = {name: options[0] for name, options in topic.slots.items()}
        assert len(topic.direct) == len(topic.intents) and len(topic.answers) <= 15
        templates = [p for group in topic.intents for p in group] + [*topic.direct, *topic.follow_ups, *topic.answers]
        for template in templates:
            assert "{" not in template.format_map(values), template
