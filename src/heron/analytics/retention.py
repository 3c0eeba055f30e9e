"""Active users, new and returning users, retention cohorts and engagement, from activity logs.

Pure numpy: arrays in, tables out. These are the reference definitions; the
store computes the same tables in SQL (``Store.active_users``, ``retention``,
``engagement``) and ``tests/contract`` checks that both agree.

Days are UTC calendar days. Anything numpy turns into ``datetime64[D]`` is a
day (``datetime.date``, ``"2025-11-20"``, ``datetime64``), and so is an integer
(days since 1970-01-01) or a float (epoch seconds: the UTC day holding it).
A window ``[start, end)`` is a range of days, ``end`` excluded. Activity
before ``start`` still counts where a definition looks back (the trailing 7
and 30 days, "first seen"), exactly as in the store.
A user of ``None`` (no ``user_id``) is ignored everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Period = Literal["day", "week"]
PERIOD_DAYS: dict[str, int] = {"day": 1, "week": 7}
DEFAULT_OFFSETS: dict[str, tuple[int, ...]] = {"day": (1, 7, 30), "week": (1, 2, 4)}
"""Offsets a retention table reports when none are given, in periods after the cohort's."""

WAU_DAYS = 7
MAU_DAYS = 30

Ints = npt.NDArray[np.int64]
DayLike = Any  # datetime.date | str | numpy.datetime64 | int (days since 1970-01-01) | float (epoch seconds)


# -- days ------------------------------------------------------------------------


def day_number(value: DayLike) -> int:
    """Days since 1970-01-01 of one day."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):  # epoch seconds
        return int(np.floor(value / 86400.0))
    return int(np.datetime64(value, "D").astype(np.int64))


def day_numbers(values: Any) -> Ints:
    """Days since 1970-01-01 of each value (see the module docstring for what a day may be)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":  # epoch seconds
        return np.floor(arr / 86400.0).astype(np.int64)
    return arr.astype("datetime64[D]").astype(np.int64)


def to_date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def period_start(days: Ints, period: Period) -> Ints:
    """The first day of each day's period: itself, or the Monday of its ISO week."""
    if period == "day":
        return days
    return days - (days + 3) % 7  # 1970-01-01 was a Thursday


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _codes(values: Any) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Integer codes for the values, and which values are not None."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    keep = np.fromiter((v is not None for v in arr), bool, len(arr)) if arr.dtype == object else np.ones(len(arr), bool)
    codes = np.full(len(arr), -1, np.int64)
    if keep.any():
        _, inverse = np.unique(arr[keep].astype(str) if arr.dtype == object else arr[keep], return_inverse=True)
        codes[keep] = inverse.reshape(-1)
    return codes, keep


def _activity(users: Any, days: Any, end: int) -> tuple[Ints, Ints]:
    """Distinct (user code, day) pairs before ``end``, users without an id dropped."""
    codes, keep = _codes(users)
    d = day_numbers(days)
    if len(codes) != len(d):
        raise ValueError(f"users and days differ in length ({len(codes)} != {len(d)})")
    keep &= d < end
    pairs = np.unique(np.stack([codes[keep], d[keep]], axis=1), axis=0) if keep.any() else np.empty((0, 2), np.int64)
    return pairs[:, 0], pairs[:, 1]


# -- active users ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveUsers:
    """One entry per day of the window; see :func:`active_users`."""

    days: Ints
    dau: Ints
    wau: Ints
    mau: Ints
    new: Ints
    returning: Ints

    def rows(self) -> list[dict[str, Any]]:
        """The rows ``Store.active_users`` returns."""
        return [
            {
                "day": to_date(day),
                "dau": int(dau),
                "wau": int(wau),
                "mau": int(mau),
                "stickiness": _ratio(int(dau), int(mau)),
                "new": int(new),
                "returning": int(ret),
                "return_rate": _ratio(int(ret), int(dau)),
            }
            for day, dau, wau, mau, new, ret in zip(self.days, self.dau, self.wau, self.mau, self.new, self.returning)
        ]


def active_users(users: Any, days: Any, *, start: DayLike, end: DayLike) -> ActiveUsers:
    """Daily, weekly and monthly active users, and new versus returning users, per day.

    For each day ``d`` in ``[start, end)``: ``dau`` counts the distinct users active on
    ``d``; ``wau`` and ``mau`` those active on any of the 7 and 30 days ending with ``d``
    (``d`` included); ``new`` those whose first active day in the whole log is ``d``;
    ``returning`` the rest of ``dau`` (active on ``d`` and on some earlier day).
    """
    lo, hi = day_number(start), day_number(end)
    n = max(hi - lo, 0)
    user, day = _activity(users, days, hi)
    first = np.full(int(user.max()) + 1 if len(user) else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, user, day)
    base = lo - (MAU_DAYS - 1)
    recent = day >= base
    # users x days [base, hi): active or not; a trailing window is "any" over its columns
    grid = np.zeros((len(first), n + MAU_DAYS - 1), np.int64)
    grid[user[recent], day[recent] - base] = 1
    cum = np.concatenate([np.zeros((len(first), 1), np.int64), np.cumsum(grid, axis=1)], axis=1)

    def trailing(width: int) -> Ints:
        cols = np.arange(MAU_DAYS - 1, MAU_DAYS - 1 + n)  # column of each report day
        hits = cum[:, cols + 1] - cum[:, cols + 1 - width]
        out: Ints = (hits > 0).sum(axis=0).astype(np.int64)
        return out

    report = np.arange(lo, lo + n, dtype=np.int64)
    dau = trailing(1)
    firsts = first[(first >= lo) & (first < lo + n)] - lo
    new = np.bincount(firsts, minlength=n).astype(np.int64)
    return ActiveUsers(days=report, dau=dau, wau=trailing(WAU_DAYS), mau=trailing(MAU_DAYS), new=new, returning=dau - new)


# -- retention ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retention:
    """Cohorts by first active period x offsets; see :func:`retention`.

    ``active[i, j]`` and ``unbounded[i, j]`` are -1 where cohort ``i`` cannot be observed
    yet at offset ``j`` (its period starts at or after the window's end).
    """

    period: Period
    offsets: tuple[int, ...]
    cohorts: Ints
    """First day of each cohort's period."""
    users: Ints
    active: Ints
    unbounded: Ints

    def to_dict(self) -> dict[str, Any]:
        """The table ``Store.retention`` returns."""
        known = self.active >= 0
        cohorts = []
        for i, day in enumerate(self.cohorts):
            size = int(self.users[i])
            active = [int(v) if v >= 0 else None for v in self.active[i]]
            unbounded = [int(v) if v >= 0 else None for v in self.unbounded[i]]
            cohorts.append(
                {
                    "cohort": to_date(day),
                    "users": size,
                    "active": active,
                    "active_rate": [None if v is None else _ratio(v, size) for v in active],
                    "unbounded": unbounded,
                    "unbounded_rate": [None if v is None else _ratio(v, size) for v in unbounded],
                }
            )
        eligible = [int(self.users[known[:, j]].sum()) for j in range(len(self.offsets))]
        active_sum = [int(self.active[known[:, j], j].sum()) for j in range(len(self.offsets))]
        unbounded_sum = [int(self.unbounded[known[:, j], j].sum()) for j in range(len(self.offsets))]
        return {
            "period": self.period,
            "offsets": list(self.offsets),
            "cohorts": cohorts,
            "overall": {
                "users": eligible,
                "active": active_sum,
                "active_rate": [_ratio(a, e) for a, e in zip(active_sum, eligible)],
                "unbounded": unbounded_sum,
                "unbounded_rate": [_ratio(a, e) for a, e in zip(unbounded_sum, eligible)],
            },
        }


def check_offsets(period: str, offsets: Sequence[int] | None) -> tuple[int, ...]:
    """The offsets to report (the period's defaults when None); raises ValueError on bad ones."""
    if period not in PERIOD_DAYS:
        raise ValueError(f"period must be one of {', '.join(PERIOD_DAYS)}, got {period!r}")
    out = DEFAULT_OFFSETS[period] if offsets is None else tuple(offsets)
    if not out or any(not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0 for k in out):
        raise ValueError(f"offsets must be integers >= 0, at least one; got {offsets!r}")
    return tuple(int(k) for k in out)


def retention(
    users: Any,
    days: Any,
    *,
    start: DayLike,
    end: DayLike,
    period: Period = "day",
    offsets: Sequence[int] | None = None,
) -> Retention:
    """Retention of the users first active in ``[start, end)``, by cohort and offset.

    A user's cohort is the period (day, or ISO week from Monday) of their first active
    day in the whole log; only users whose first day falls in the window are counted.
    For offset ``k`` (in periods): ``active`` counts the cohort's users active in the
    period ``k`` after their cohort's ("day-N" retention, that exact period);
    ``unbounded`` those active in that period or any later one before ``end``.
    Offset 0 is the cohort period itself (every user). Cohorts are every period that
    overlaps the window, empty ones included; the first and last week may be partial.
    """
    lo, hi = day_number(start), day_number(end)
    offs = check_offsets(period, offsets)
    unit = PERIOD_DAYS[period]
    user, day = _activity(users, days, hi)
    size = int(user.max()) + 1 if len(user) else 0
    first = np.full(size, np.iinfo(np.int64).max, np.int64)
    last = np.full(size, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first, user, day)
    np.maximum.at(last, user, day)
    if hi > lo:
        cohorts = np.arange(int(period_start(np.array([lo]), period)[0]), hi, unit, dtype=np.int64)
    else:
        cohorts = np.empty(0, np.int64)
    in_window = (first >= lo) & (first < hi)
    cohort_of = period_start(first, period)
    members = np.flatnonzero(in_window)
    row_of = np.searchsorted(cohorts, cohort_of)

    counts = np.zeros(len(cohorts), np.int64)
    np.add.at(counts, row_of[members], 1)

    # distinct (user, offset) of activity by cohort users; an offset per period after the cohort's
    mine = in_window[user]
    offset = (period_start(day[mine], period) - cohort_of[user[mine]]) // unit
    pairs = np.unique(np.stack([user[mine], offset], axis=1), axis=0) if mine.any() else np.empty((0, 2), np.int64)
    reach = (period_start(last, period) - cohort_of) // unit  # last offset each user was active at

    active = np.zeros((len(cohorts), len(offs)), np.int64)
    unbounded = np.zeros((len(cohorts), len(offs)), np.int64)
    for j, k in enumerate(offs):
        hit = pairs[pairs[:, 1] == k, 0]
        np.add.at(active[:, j], row_of[hit], 1)
        late = members[reach[members] >= k]
        np.add.at(unbounded[:, j], row_of[late], 1)
    unseen = cohorts[:, None] + np.array(offs, np.int64)[None, :] * unit >= hi
    active[unseen] = -1
    unbounded[unseen] = -1
    return Retention(period=period, offsets=offs, cohorts=cohorts, users=counts, active=active, unbounded=unbounded)


# -- engagement -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Engagement:
    """Per-day engagement and the active-days distribution; see :func:`engagement`."""

    days: Ints
    users: Ints
    interactions: Ints
    seconds: npt.NDArray[np.float64]
    active_days: Ints
    """``active_days[k - 1]``: users active on exactly ``k`` days of the window."""

    def to_dict(self) -> dict[str, Any]:
        """The table ``Store.engagement`` returns."""
        day_rows = [
            {
                "day": to_date(day),
                "users": int(u),
                "interactions": int(n),
                "interactions_per_user": _ratio(int(n), int(u)),
                "engagement_s": float(s),
                "engagement_s_per_user": float(s) / int(u) if u else None,
            }
            for day, u, n, s in zip(self.days, self.users, self.interactions, self.seconds)
        ]
        user_days = int(self.users.sum())
        interactions = int(self.interactions.sum())
        seconds = float(self.seconds.sum())
        users = int(self.active_days.sum())
        return {
            "days": day_rows,
            "active_days": [{"days": k + 1, "users": int(n)} for k, n in enumerate(self.active_days)],
            "summary": {
                "users": users,
                "user_days": user_days,
                "interactions": interactions,
                "engagement_s": seconds,
                "active_days_per_user": _ratio(user_days, users),
                "interactions_per_active_day": _ratio(interactions, user_days),
                "engagement_s_per_active_day": seconds / user_days if user_days else None,
            },
        }


def engagement(
    users: Any,
    starts: Any,
    ends: Any,
    conversations: Any,
    *,
    start: DayLike,
    end: DayLike,
) -> Engagement:
    """Engagement of identified users per day over ``[start, end)``, from one entry per interaction.

    ``starts`` and ``ends`` are epoch seconds (an end of NaN or None counts as the start);
    an interaction's day is its start's UTC day. A user's engagement time on a day is the
    sum, over the conversations they had that day, of the span from the earliest start
    to the latest end of their interactions in it that day; an interaction without a
    conversation is its own conversation. ``active_days`` counts users by how many days
    of the window they were active on.
    """
    lo, hi = day_number(start), day_number(end)
    n_days = max(hi - lo, 0)
    user, keep = _codes(users)
    t0 = np.asarray(starts, dtype=np.float64)
    t1 = np.asarray([np.nan if e is None else e for e in ends], dtype=np.float64) if len(t0) else np.empty(0)
    t1 = np.where(np.isnan(t1), t0, t1)
    conv, has_conv = _codes(conversations)
    conv = np.where(has_conv, conv, -1 - np.arange(len(conv)))  # each loose interaction alone
    day = np.floor(t0 / 86400.0).astype(np.int64)
    keep &= (day >= lo) & (day < hi)
    user, day, conv, t0, t1 = user[keep], day[keep], conv[keep], t0[keep], t1[keep]

    count = np.zeros(n_days, np.int64)
    np.add.at(count, day - lo, 1)
    # pieces: (user, day, conversation) -> span
    keys: Ints = np.empty((0, 3), np.int64)
    piece: Ints = np.empty(0, np.int64)
    if len(user):
        keys, piece = np.unique(np.stack([user, day, conv], axis=1), axis=0, return_inverse=True)
        piece = piece.reshape(-1)
    lo_t = np.full(len(keys), np.inf)
    hi_t = np.full(len(keys), -np.inf)
    np.minimum.at(lo_t, piece, t0)
    np.maximum.at(hi_t, piece, t1)
    seconds = np.zeros(n_days)
    np.add.at(seconds, keys[:, 1] - lo, hi_t - lo_t)
    user_days = np.unique(keys[:, :2], axis=0) if len(keys) else np.empty((0, 2), np.int64)
    per_day = np.zeros(n_days, np.int64)
    np.add.at(per_day, user_days[:, 1] - lo, 1)
    _, days_each = np.unique(user_days[:, 0], return_counts=True)
    histogram = np.zeros(n_days, np.int64)
    np.add.at(histogram, days_each - 1, 1)
    return Engagement(
        days=np.arange(lo, lo + n_days, dtype=np.int64),
        users=per_day,
        interactions=count,
        seconds=seconds,
        active_days=histogram,
    )
