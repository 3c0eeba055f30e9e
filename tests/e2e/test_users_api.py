"""Active users and retention through the HTTP API, on a hand-made activity log."""

from __future__ import annotations

import math
import time

import httpx

from tests.conftest import RunningServer

DAY = 86400.0


def test_active_users_and_retention(server: RunningServer) -> None:
    today = math.floor((time.time() - 2 * 3600) / DAY) * DAY  # so that today + 1 h is never in the future (ingest refuses that)
    first = today - 9 * DAY
    # user -> active day offsets (from `first`); a and b start day 0, c day 1, d day 8
    activity = {"a": [0, 1, 7], "b": [0, 2], "c": [1, 2, 8], "d": [8, 9]}
    items = [
        {"model": "gpt-4o" if user != "d" else "claude", "user_id": user, "start_time": first + d * DAY + 3600, "latency_ms": 10.0,
         "conversation_id": f"{user}-{d}"}
        for user, days in activity.items() for d in days
    ]  # fmt: skip
    assert httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers).status_code == 200
    server.wait_stored(len(items))
    get = lambda path: httpx.get(server.url + path, headers=server.read_headers).json()  # noqa: E731
    window = f"start={first}&end={today + DAY}"

    days = get(f"/v1/users/active?{window}")["days"]
    by_offset = {round((time.mktime(time.strptime(r["day"], "%Y-%m-%d")) - time.timezone - first) / DAY): r for r in days}
    assert by_offset[0]["dau"] == 2 and by_offset[0]["new"] == 2
    assert by_offset[1]["dau"] == 2 and by_offset[1]["new"] == 1 and by_offset[1]["returning"] == 1
    assert by_offset[8]["dau"] == 2 and by_offset[8]["wau"] == 4  # days 2..8: a (7), b (2), c (2, 8), d (8)
    assert by_offset[9]["wau"] == 3 and by_offset[9]["mau"] == 4  # days 3..9: a, c, d

    retention = get(f"/v1/users/retention?{window}&offsets=1,7")
    day0 = next(c for c in retention["cohorts"] if c["users"] == 2 and c["active"][0] is not None and c["active"][0] == 1)
    assert day0["active"] == [1, 1]  # of a and b: a is back on day 1 and on day 7
    sliced = get(f"/v1/users/active?{window}&model=claude")["days"]
    assert sum(r["new"] for r in sliced) == 1
    bad = httpx.get(f"{server.url}/v1/users/active?{window}&model=x&prompt_version=y", headers=server.read_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "prompt_version"
    assert httpx.get(f"{server.url}/v1/users/engagement?{window}", headers=server.read_headers).status_code == 200
