"""New subjects that ramp: found within a day of passing 3 %, on text Heron did not write, and nothing on stable traffic.

Issue 13: "a subject growing from 0 to 30 % over a week is reported within 24 h of passing 3 %".
(Subjects that *jump* are measured by bench/eval_topics.py, part 4.) A stream is built from labelled
lines: a topic model is fitted on a day of every subject but one, the detector
(``EmergingTopicDetector``, default settings, a random conversation id per message) watches the next
day, and from the day after that the held-out subject grows linearly from 0 to 30 % of messages over a
week; two days of the ramp are streamed (3 % is passed 16.8 h in). Each subject of a corpus takes its
turn as the new one, at 300 and 600 messages an hour. A report counts when most of its examples are
the new subject's lines; any other report is false. Controls: the same streams with no new subject.

Corpora: ``chatterbot-corpus`` English (bench.corpora; every line, truth = its file's subject; every
subject with at least 40 distinct lines takes a turn) and the hand-written set
(tests/enrich/data/topics_handwritten.jsonl, 10 subjects plus small talk).

    python -m bench.eval_emerging

Records ``emerging_ramp_found_external`` (share of chatterbot ramps reported in time),
``emerging_ramp_delay_h`` (the worst delay after passing 3 %, both corpora) and
``emerging_false_reports_per_day`` (other reports and control reports, per streamed day).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from bench._common import record
from bench.corpora import chatterbot
from bench.eval_topics import Cached, handwritten
from heron.enrich.emerging import EmergingTopicDetector
from heron.enrich.topics import TopicModel

DAY = 86_400.0
WATCHED = 1_700_000_000.0
"""The detector's first message (any epoch will do; fixed for repeatable runs)."""
RAMP_START = WATCHED + DAY
RAMP_WEEK = 7 * DAY
PASSES_3_PERCENT = RAMP_START + 0.1 * RAMP_WEEK
MIN_LINES = 20


@dataclass(frozen=True, slots=True)
class Report:
    detected_at: float
    subject: str
    """The subject most of its examples are about."""
    label: str


def ramp(subject_of: Mapping[str, str], new_subject: str | None, embed: Callable[[Sequence[str]], np.ndarray], *,
         days: float = 3.0, per_hour: float = 300.0, seed: int = 2) -> list[Report]:
    """Fit on a day of the other subjects, stream ``days`` from the next; ``new_subject`` ramps from the day after."""
    old = [text for text, subject in subject_of.items() if subject != new_subject]
    new = [text for text, subject in subject_of.items() if subject == new_subject]
    rng = random.Random(seed)
    first = [rng.choice(old) for _ in range(int(per_hour * 24))]
    model = TopicModel.fit(first, embeddings=embed(first), seed=0)
    detector = EmergingTopicDetector(model)
    count = int(per_hour * 24 * days)
    times = np.sort(np.array([WATCHED + rng.random() * days * DAY for _ in range(count)]))
    texts = [rng.choice(new) if new and rng.random() < 0.3 * (t - RAMP_START) / RAMP_WEEK else rng.choice(old)
             for t in times.tolist()]
    sources = [f"c{rng.getrandbits(40)}" for _ in texts]
    reports: list[Report] = []
    for start in range(0, count, 50):
        batch = slice(start, start + 50)
        known = {found.id for found in detector.get()}
        detector.update(embed(texts[batch]), times[batch], texts[batch], sources[batch])
        for found in detector.get():
            if found.id not in known:
                subjects = [subject_of[text] for text in found.examples]
                reports.append(Report(found.detected_at, Counter(subjects).most_common(1)[0][0], found.label))
    return reports


def hand_written() -> dict[str, str]:
    return dict(zip(*handwritten(), strict=True))


def corpora() -> dict[str, dict[str, str]]:
    return {"chatterbot-english": dict(chatterbot("english")), "hand-written": hand_written()}


def main() -> None:
    outcome: dict[str, dict[str, float]] = {}
    false_reports, streamed_days = 0, 0.0
    for name, subject_of in corpora().items():
        embed = Cached(list(subject_of))  # every line embedded once: the streams repeat them
        counts: dict[str, int] = {}
        for subject in subject_of.values():
            counts[subject] = counts.get(subject, 0) + 1
        subjects = sorted(s for s, n in counts.items() if n >= MIN_LINES and s != "smalltalk")
        runs = [(subject, per_hour) for per_hour in (300.0, 600.0) for subject in [*subjects, None]]
        delays: list[float | None] = []
        for subject, per_hour in tqdm(runs, desc=name, unit=" streams"):
            reports = ramp(subject_of, subject, embed, per_hour=per_hour)
            streamed_days += 3.0
            hits = [r for r in reports if subject is not None and r.subject == subject]
            others = [r for r in reports if r not in hits]
            false_reports += len(others)
            if subject is not None:
                delay = (hits[0].detected_at - PASSES_3_PERCENT) / 3600 if hits else None
                delays.append(delay)
                tqdm.write(f"  {per_hour:.0f}/h {subject:14s} " + ("not reported" if delay is None else
                           f"reported {delay:+.1f} h after passing 3 % as {hits[0].label!r}")
                           + (f"; other reports: {[r.label for r in others]}" if others else ""))
            elif others:
                tqdm.write(f"  {per_hour:.0f}/h control: {[r.label for r in others]}")
        in_time = [d for d in delays if d is not None and d <= 24.0]
        outcome[name] = {"ramps": len(delays), "in_time": len(in_time),
                         "worst_delay_h": round(max((d for d in delays if d is not None), default=float("nan")), 1)}
        print(f"{name}: {len(in_time)} of {len(delays)} ramps reported within 24 h of passing 3 %", flush=True)
    external = outcome["chatterbot-english"]
    record("emerging_ramp_found_external", external["in_time"] / external["ramps"], "ratio",
           detail={**outcome, "source": "bench/eval_emerging.py"})
    record("emerging_ramp_delay_h", max(o["worst_delay_h"] for o in outcome.values()), "h after passing 3 %",
           target="<= 24", detail={"source": "bench/eval_emerging.py"})
    record("emerging_false_reports_per_day", false_reports / streamed_days, "reports/day", target="<= 0.1",
           detail={"streamed_days": streamed_days, "false_reports": false_reports, "source": "bench/eval_emerging.py"})


if __name__ == "__main__":
    main()
