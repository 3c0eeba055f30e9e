"""The simulated user base: who comes back, how often, and who leaves.

Users sit in a fixed number of *slots*; a slot's weight is how active its
occupant is (heavy-tailed, pro users heavier), so picking a user is one
bisect over precomputed cumulative weights. When a user churns, a newcomer
takes the slot some hours later. That keeps the arrival rate what the
scenario asks for while retention cohorts, churn after bad experiences and a
steady trickle of new users stay meaningful.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from heron.demo.scenario import DAY, Scenario

_LEGACY_SHARE = 0.15
"""Users stuck on the old app (1.9.4, prompt v1, no upgrade)."""
_PRO_SHARE = 0.25
_REPLACEMENT_DELAY_S = 0.5 * DAY
_PICK_TRIES = 8


@dataclass(slots=True)
class User:
    """One simulated person; mutable because visits and churn change it."""

    id: str
    plan: str
    joined: float
    legacy: bool
    upgrade_at: float
    treated: bool
    """In the experiment's treatment arm."""
    patience: float
    """0..1; patient users complain and abandon less after a poor answer."""
    mood: float
    """Satisfaction a conversation starts from."""
    favourites: tuple[str, ...]
    conversations: int = 0
    churned: bool = False

    def versions(self, t: float) -> tuple[str, str]:
        """(app_version, prompt_version) the user runs at time ``t``."""
        if self.legacy:
            return "1.9.4", "v1"
        if t >= self.upgrade_at:
            return "2.1.0", "v3"
        return "2.0.3", "v2"


class Population:
    """Slots of users, picked by activity; see the module docstring."""

    def __init__(self, rng: random.Random, scenario: Scenario) -> None:
        self._rng = rng
        self._scenario = scenario
        self._count = 0
        self._topics = sorted(topic for topic, weight in scenario.topic_mix.items() if weight > 0)
        span = (scenario.end - scenario.start) if scenario.end is not None else 14 * DAY
        self._slots: list[User] = []
        weights: list[float] = []
        for _ in range(scenario.users):
            plan = "pro" if rng.random() < _PRO_SHARE else "free"
            weights.append(rng.lognormvariate(0.0, 1.0) * (1.8 if plan == "pro" else 1.0))
            if rng.random() < scenario.new_user_share:
                joined = scenario.start + rng.random() * span
            else:
                joined = scenario.start - rng.random() * 90 * DAY
            self._slots.append(self._new_user(plan, joined))
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    def _new_user(self, plan: str, joined: float) -> User:
        rng = self._rng
        self._count += 1
        favourites = tuple(rng.sample(self._topics, min(2, len(self._topics))))
        return User(
            id=f"user-{self._count:06d}",
            plan=plan,
            joined=joined,
            legacy=rng.random() < _LEGACY_SHARE,
            upgrade_at=self._scenario.v3_at + rng.expovariate(1.0 / (0.7 * DAY)),
            treated=rng.random() < 0.5,
            patience=rng.betavariate(2.0, 2.0),
            mood=0.55 + 0.3 * rng.random(),
            favourites=favourites,
        )

    def pick(self, t: float) -> tuple[int, User]:
        """A user active at ``t``, by activity weight; returns (slot, user).

        When the draws keep landing on people who haven't signed up yet (early
        in a growing window), the last one signs up now: sign-up times are
        latent, only the first visit is observable.
        """
        rng = self._rng
        slots = self._slots
        for _ in range(_PICK_TRIES):
            index = bisect_right(self._cumulative, rng.random() * self._total)
            index = min(index, len(slots) - 1)
            user = slots[index]
            if user.joined <= t:
                return index, user
        user.joined = t
        return index, user

    def churn(self, slot: int, user: User, t: float) -> None:
        """``user`` leaves for good; a newcomer takes the slot some hours later."""
        user.churned = True
        if self._slots[slot] is user:
            joined = t + self._rng.expovariate(1.0 / _REPLACEMENT_DELAY_S)
            self._slots[slot] = self._new_user(user.plan, joined)
