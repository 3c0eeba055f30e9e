"""The retention math against tables computed by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from heron.analytics.retention import active_users, engagement, retention

D0 = dt.date(2025, 11, 17)  # a Monday: week 0 is days 0-6, week 1 days 7-13
T0 = (D0 - dt.date(1970, 1, 1)).days * 86400.0


def day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


# Eight users over ten days (day index: active days).
ACTIVITY = {
    "A": [0, 1, 2, 7, 9],
    "B": [0, 7],
    "C": [1, 2],
    "D": [1, 8],
    "E": [3, 4, 5, 6, 7, 8, 9],
    "F": [5],
    "G": [6, 9],
    "H": [9],
}
USERS: list[str | None] = [u for u, days in ACTIVITY.items() for _ in days] + ["A", None]  # A twice on day 0; one anonymous
DAYS = [day(d) for days in ACTIVITY.values() for d in days] + [day(0), day(2)]

#            day:  0  1  2  3  4  5  6  7  8  9
# active        : AB ACD AC E  E  EF EG ABE DE AEGH
DAU = [2, 3, 2, 1, 1, 2, 2, 3, 2, 4]
# first days: A,B 0; C,D 1; E 3; F 5; G 6; H 9
NEW = [2, 2, 0, 1, 0, 1, 1, 0, 0, 1]
RETURNING = [0, 1, 2, 0, 1, 1, 1, 3, 2, 3]
# 7 days ending with d: d7 = days 1-7 {A,C,D,E,F,G,B}; d9 = days 3-9, C (last seen day 2) has dropped out
WAU = [2, 4, 4, 5, 5, 6, 7, 7, 7, 7]
# 30 days ending with d: everyone seen so far
MAU = [2, 4, 4, 5, 5, 6, 7, 7, 7, 8]


def test_active_users_by_hand() -> None:
    rows = active_users(USERS, DAYS, start=day(0), end=day(10)).rows()
    assert [r["day"] for r in rows] == [day(i) for i in range(10)]
    assert [r["dau"] for r in rows] == DAU
    assert [r["new"] for r in rows] == NEW
    assert [r["returning"] for r in rows] == RETURNING
    assert [r["wau"] for r in rows] == WAU
    assert [r["mau"] for r in rows] == MAU
    assert rows[9]["stickiness"] == pytest.approx(4 / 8)
    assert rows[7]["return_rate"] == 1.0 and rows[0]["return_rate"] == 0.0


def test_active_users_window_looks_back() -> None:
    # A later window still counts earlier days in WAU/MAU and in "first seen".
    rows = active_users(USERS, DAYS, start=day(5), end=day(10)).rows()
    assert [r["wau"] for r in rows] == WAU[5:]
    assert [r["mau"] for r in rows] == MAU[5:]
    assert [r["new"] for r in rows] == NEW[5:]
    # Days after the window are never looked at; an empty window has no rows.
    assert active_users(USERS, DAYS, start=day(3), end=day(3)).rows() == []


def test_active_users_accepts_day_numbers_seconds_and_empty_input() -> None:
    numbers = np.array([(d - dt.date(1970, 1, 1)).days for d in DAYS])
    a = active_users(USERS, numbers, start=day(0), end=day(10)).rows()
    assert a == active_users(USERS, DAYS, start=day(0), end=day(10)).rows()
    seconds = [T0 + (d - D0).days * 86400 + 43_200.5 for d in DAYS]  # epoch seconds: their UTC day
    assert active_users(USERS, seconds, start=T0, end=T0 + 10 * 86400).rows() == a
    empty = active_users([], [], start=day(0), end=day(2)).rows()
    assert [(r["dau"], r["mau"], r["stickiness"], r["return_rate"]) for r in empty] == [(0, 0, None, None)] * 2


# Day cohorts, window days 0-9 (a cell is known while day cohort+offset < 10):
# cohort  users  day1 exact          day7 exact      day1 unbounded (last day >= c+1)   day7 unbounded
# 0       A,B    A (B not on 1) 1    A,B on 7: 2     A(9) B(7): 2                       A(9) B(7): 2
# 1       C,D    C on 2: 1           D on 8: 1       C(2) D(8): 2                       D(8): 1
# 2       -      0                   0               0                                  0
# 3       E      E on 4: 1           None (day 10)   1                                  None
# 4       -      0                   None            0                                  None
# 5       F      0                   None            F last 5: 0                        None
# 6       G      0 (not on 7)        None            G(9): 1                            None
# 7, 8    -      0                   None            0                                  None
# 9       H      None (day 10)       None            None                               None
# overall day 1: cohorts 0-8, 7 users, 3 active, 6 unbounded; day 7: cohorts 0-2, 4 users, 3 and 3.
DAY_TABLE = {
    0: (2, [1, 2], [2, 2]),
    1: (2, [1, 1], [2, 1]),
    2: (0, [0, 0], [0, 0]),
    3: (1, [1, None], [1, None]),
    4: (0, [0, None], [0, None]),
    5: (1, [0, None], [0, None]),
    6: (1, [0, None], [1, None]),
    7: (0, [0, None], [0, None]),
    8: (0, [0, None], [0, None]),
    9: (1, [None, None], [None, None]),
}


def test_day_retention_by_hand() -> None:
    table = retention(USERS, DAYS, start=day(0), end=day(10), period="day", offsets=(1, 7)).to_dict()
    assert table["period"] == "day" and table["offsets"] == [1, 7]
    assert [c["cohort"] for c in table["cohorts"]] == [day(i) for i in range(10)]
    for cohort in table["cohorts"]:
        size, active, unbounded = DAY_TABLE[(cohort["cohort"] - D0).days]
        assert (cohort["users"], cohort["active"], cohort["unbounded"]) == (size, active, unbounded), cohort["cohort"]
    first = table["cohorts"][0]
    assert first["active_rate"] == [0.5, 1.0] and first["unbounded_rate"] == [1.0, 1.0]
    assert table["cohorts"][2]["active_rate"] == [None, None]  # an empty cohort has no rate
    assert table["cohorts"][9]["active_rate"] == [None, None]  # not observable yet
    overall = table["overall"]
    assert overall["users"] == [7, 4]
    assert overall["active"] == [3, 3] and overall["active_rate"] == [3 / 7, 0.75]
    assert overall["unbounded"] == [6, 3] and overall["unbounded_rate"] == [6 / 7, 0.75]


def test_day_retention_counts_only_users_first_seen_in_the_window() -> None:
    # From day 5: A-E were first seen earlier, so only F (5), G (6), H (9) make cohorts.
    table = retention(USERS, DAYS, start=day(5), end=day(10), offsets=(0, 1, 3)).to_dict()
    assert [(c["users"], c["active"]) for c in table["cohorts"]] == [
        (1, [1, 0, 0]),  # F
        (1, [1, 0, 1]),  # G: day 6, not 7, day 9
        (0, [0, 0, None]),  # day 7 + 3 is past the window
        (0, [0, 0, None]),
        (1, [1, None, None]),  # H
    ]


# Week cohorts (Monday weeks): week 0 (days 0-6) first saw A-G, week 1 (days 7-13) H.
# Week 0 users active in week 1 (days 7-9): A, B, D, E, G = 5 of 7; C and F not.
# Week 1 + 1 starts on day 14, after the window: unknown; week 2 unknown for both.
def test_week_retention_by_hand() -> None:
    table = retention(USERS, DAYS, start=day(0), end=day(10), period="week", offsets=(0, 1, 2)).to_dict()
    assert [c["cohort"] for c in table["cohorts"]] == [day(0), day(7)]
    assert [(c["users"], c["active"], c["unbounded"]) for c in table["cohorts"]] == [
        (7, [7, 5, None], [7, 5, None]),
        (1, [1, None, None], [1, None, None]),
    ]
    assert table["overall"]["active_rate"] == [1.0, 5 / 7, None]
    # A window starting mid-week labels cohorts by their Monday; only users first seen from day 3 count.
    mid = retention(USERS, DAYS, start=day(3), end=day(10), period="week", offsets=(1,)).to_dict()
    assert [(c["cohort"], c["users"], c["active"]) for c in mid["cohorts"]] == [(day(0), 3, [2]), (day(7), 1, [None])]


def test_retention_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="period"):
        retention(USERS, DAYS, start=day(0), end=day(10), period="month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="offsets"):
        retention(USERS, DAYS, start=day(0), end=day(10), offsets=(-1,))
    assert retention([], [], start=day(0), end=day(10)).to_dict()["offsets"] == [1, 7, 30]
    assert retention([], [], start=day(0), end=day(10), period="week").to_dict()["offsets"] == [1, 2, 4]


def test_engagement_by_hand() -> None:
    # (user, conversation, start offset s, end offset s or None) from the start of day 0
    log = [
        ("u1", "c1", 100, 110), ("u1", "c1", 200, 260),  # u1/c1 day 0: 100..260 = 160 s
        ("u1", "c2", 1000, 1030),  # 30 s
        ("u1", None, 5000, 5012),  # alone: 12 s
        ("u2", "c1", 150, 170),  # same conversation id, another user: 20 s
        (None, "c9", 300, 400),  # anonymous: ignored
        ("u2", "c4", 86400 - 20, 86400 - 10),  # crosses midnight: 10 s on day 0 ...
        ("u2", "c4", 86400 + 5, 86400 + 25),  # ... and 20 s on day 1
        ("u1", "c1", 86400 + 50, None),  # no end: 0 s
        ("u3", "c3", 86400 + 10, 86400 + 70), ("u3", "c3", 86400 + 100, 86400 + 130),  # 120 s
    ]
    out = engagement(
        [x[0] for x in log],
        [T0 + x[2] for x in log],
        [None if x[3] is None else T0 + x[3] for x in log],
        [x[1] for x in log],
        start=day(0),
        end=day(3),
    ).to_dict()
    # day 0: u1 (4 calls, 202 s), u2 (2 calls, 30 s); day 1: u1 (1, 0 s), u2 (1, 20 s), u3 (2, 120 s); day 2: nobody
    assert out["days"] == [
        {"day": day(0), "users": 2, "interactions": 6, "interactions_per_user": 3.0, "engagement_s": 232.0, "engagement_s_per_user": 116.0},
        {"day": day(1), "users": 3, "interactions": 4, "interactions_per_user": 4 / 3, "engagement_s": 140.0, "engagement_s_per_user": 140 / 3},
        {"day": day(2), "users": 0, "interactions": 0, "interactions_per_user": None, "engagement_s": 0.0, "engagement_s_per_user": None},
    ]
    # u1 and u2 on 2 days, u3 on 1
    assert out["active_days"] == [{"days": 1, "users": 1}, {"days": 2, "users": 2}, {"days": 3, "users": 0}]
    assert out["summary"] == {
        "users": 3,
        "user_days": 5,
        "interactions": 10,
        "engagement_s": 372.0,
        "active_days_per_user": 5 / 3,
        "interactions_per_active_day": 2.0,
        "engagement_s_per_active_day": 372 / 5,
    }
