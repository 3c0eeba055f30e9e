"""Deterministic, realistic chat-application traffic for the demo, tests and benchmarks.

Analytics are only as convincing as the data they are shown on, and detectors
can only be tested against data where the answer is known. So this module
simulates people using an LLM-backed app (heavy and light users, newcomers,
churn after bad experiences, a diurnal and weekly rhythm, rephrasing and
complaining after poor answers) and keeps the latent truth next to every
record::

    from heron.demo.generator import DEFAULT_START, Incident, Scenario, generate, records, live

    scenario = Scenario(seed=7, incidents=(
        Incident("latency", DEFAULT_START + 86_400, model="gpt-4o", factor=3.0),))
    for turn in generate(scenario):      # GeneratedTurn(interaction, truth, feedback)
        ...
    for record in records(scenario):     # Interaction | Feedback, as an app would send them
        ...
    for record in live(Scenario(start=time.time() - 7 * 86_400, end=None)):
        ...                              # a week of backfill at once, then real time

The same scenario (seed included) always yields the same records, ids and
all. Only the standard library's ``random`` is used, and all text comes from
templates, so a million interactions take about 20 s on one core (roughly
50k/s). Records are yielded, never collected: stream 10 million through
``itertools.islice``.
Treat yielded records as read-only; the turns of one conversation share their
history's ``Message`` objects.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Iterator
from typing import cast

from heron.demo._calls import POOR_ANSWERS
from heron.demo._conversation import Conversations, GeneratedTurn, Truth
from heron.demo._users import Population
from heron.demo.scenario import (
    DAY,
    DEFAULT_START,
    ERROR_TYPES,
    FEATURES,
    INCIDENT_KINDS,
    MODELS,
    Experiment,
    Incident,
    ModelProfile,
    Scenario,
)
from heron.schema.records import Feedback, Interaction

__all__ = [
    "DEFAULT_START",
    "ERROR_TYPES",
    "FEATURES",
    "INCIDENT_KINDS",
    "MODELS",
    "POOR_ANSWERS",
    "Experiment",
    "GeneratedTurn",
    "Incident",
    "ModelProfile",
    "Scenario",
    "Truth",
    "generate",
    "live",
    "rate_at",
    "records",
]

Record = Interaction | Feedback

_PRIOR_CONVERSATIONS = 50.0
_PRIOR_TURNS = 2.4
"""About the mean turns per conversation with default knobs; the running mean takes over quickly."""


def rate_at(scenario: Scenario, t: float) -> float:
    """Expected interactions per hour at ``t``: the baseline shaped by hour, weekday and traffic incidents.

    The diurnal and weekly shapes each average to one, so over whole weeks
    the mean rate is ``interactions_per_hour`` (absent traffic incidents).
    """
    return scenario.interactions_per_hour * _relative_rate(scenario, t)


def generate(scenario: Scenario) -> Iterator[GeneratedTurn]:
    """Every turn of the scenario, ordered by ``interaction.start_time``.

    Conversations arrive as a Poisson process whose rate follows
    :func:`rate_at` (by thinning); each is simulated whole and its turns wait
    in a heap until no later-starting conversation can precede them. The rate
    is set in conversations per hour from a running mean of turns per
    conversation, so the *interaction* rate matches the knob. Feedback whose
    time falls after ``scenario.end`` has not happened yet and is left out.
    """
    rng = random.Random(scenario.seed)
    conversations = Conversations(rng, scenario, Population(rng, scenario))
    end = math.inf if scenario.end is None else scenario.end
    peak = _peak(scenario)
    pending: list[tuple[float, int, GeneratedTurn]] = []
    order = 0
    started, produced = _PRIOR_CONVERSATIONS, _PRIOR_CONVERSATIONS * _PRIOR_TURNS
    t = scenario.start
    while True:
        per_second = scenario.interactions_per_hour / 3600.0 * started / produced
        t += rng.expovariate(per_second * peak)
        if t >= end:
            break
        if rng.random() * peak > _relative_rate(scenario, t):
            continue
        while pending and pending[0][0] <= t:
            yield heapq.heappop(pending)[2]
        turns = conversations.run(t)
        started += 1.0
        produced += len(turns)
        for turn in turns:
            heapq.heappush(pending, (cast(float, turn.interaction.start_time), order, turn))
            order += 1
    while pending:
        yield heapq.heappop(pending)[2]


def records(scenario: Scenario) -> Iterator[Record]:
    """Interactions and feedback in the order an application would send them.

    An interaction is known when the call ends (``end_time``), feedback at its
    ``time``; records come ordered by that moment, which is what a server
    ingesting live traffic sees.
    """
    for _, record in _timeline(scenario):
        yield record


def live(
    scenario: Scenario,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Record]:
    """:func:`records`, paced by ``clock``: what is past comes at once, the rest in real time.

    Start the scenario N days before now with ``end=None`` to backfill N days
    and then keep generating live traffic forever. ``clock`` and ``sleep``
    are injectable so tests need not wait.
    """
    for at, record in _timeline(scenario):
        wait = at - clock()
        if wait > 0:
            sleep(wait)
        yield record


def _timeline(scenario: Scenario) -> Iterator[tuple[float, Record]]:
    """(moment known, record) in order. Safe to release anything known by the
    next turn's start: later turns start later and end after they start, and
    feedback always follows its interaction's end."""
    pending: list[tuple[float, int, Record]] = []
    order = 0
    for turn in generate(scenario):
        now = cast(float, turn.interaction.start_time)
        while pending and pending[0][0] <= now:
            at, _, record = heapq.heappop(pending)
            yield at, record
        heapq.heappush(pending, (cast(float, turn.interaction.end_time), order, turn.interaction))
        order += 1
        for feedback in turn.feedback:
            heapq.heappush(pending, (cast(float, feedback.time), order, feedback))
            order += 1
    while pending:
        at, _, record = heapq.heappop(pending)
        yield at, record


def _weekly(scenario: Scenario) -> tuple[float, float]:
    """(weekday, weekend) multipliers averaging to one over a week."""
    weekday = 7.0 / (5.0 + 2.0 * scenario.weekend_factor)
    return weekday, weekday * scenario.weekend_factor


def _relative_rate(scenario: Scenario, t: float) -> float:
    hour = (t % DAY) / 3600.0
    shape = 1.0 + scenario.diurnal_amplitude * math.cos(2.0 * math.pi * (hour - 15.0) / 24.0)
    weekday, weekend = _weekly(scenario)
    shape *= weekend if (int(t // DAY) + 3) % 7 >= 5 else weekday  # 1970-01-01 was a Thursday
    for incident in scenario.incidents:
        if incident.kind == "traffic" and incident.start <= t < incident.end:
            shape *= incident.factor
    return shape


def _peak(scenario: Scenario) -> float:
    """An upper bound of :func:`_relative_rate`, for thinning."""
    peak = (1.0 + scenario.diurnal_amplitude) * max(_weekly(scenario))
    for incident in scenario.incidents:
        if incident.kind == "traffic":
            peak *= max(1.0, incident.factor)
    return peak
