"""Quality and speed of the per-turn UX signals: language, sentiment, cues, rephrase/repeat, complaints, refusals.

Quality, on sets written and hand-labelled for Heron by its developers (not
from a public benchmark; files in ``tests/enrich/data``, format in each
file's header):

- ``sentiment.txt`` (development: the cue patterns and the chat lexicon
  overlay were written with it in view) and ``sentiment_heldout.txt``
  (written after they were frozen, never used to tune): user messages with a
  positive/negative/neutral label and their cues. Sentiment is scored as
  VADER's compound with the standard +/-0.05 thresholds, for the stock
  lexicon and for Heron's chat overlay; cues as precision/recall per cue.
- ``conversations.jsonl`` (development: thresholds chosen on it) and
  ``conversations_heldout.jsonl`` (held out): (earlier user messages, new
  message) with rephrase / repeat / complaint / frustrated labels.
- ``language.txt``: messages in 40 languages plus undeterminable ones.
- ``replies.txt``: model replies, refusal or not.

Separately, the same signals against the demo generator's ground truth
(``Truth.intent``/``complaint``/``answer``) on 20,000 turns: the generator's
texts are templates, so these figures say little about real wording.

Speed: each enricher, then all three in order (language, sentiment,
frustration) over the same 20,000 generator turns in batches of 1,000, with
models loaded but caches empty; best of three runs. Demo traffic repeats template texts, which
the caches exploit; the ``unique`` figures append a per-conversation tag to
every text so nothing repeats across conversations (earlier messages of a
conversation still repeat in its later turns, as in real traffic).
Recorded: ``signals_per_s`` (all three, demo traffic).

    python -m bench.eval_signals [--turns 20000] [--no-record]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._common import ROOT, record
from heron.enrich._vader import compound
from heron.enrich.base import CUES, Signals, Turn
from heron.enrich.frustration import FrustrationEnricher, refusal
from heron.enrich.language import LanguageEnricher, detect
from heron.enrich.sentiment import SentimentEnricher, detect_cues

DATA = ROOT / "tests" / "enrich" / "data"
LABELS = {"pos": "positive", "neg": "negative", "neu": "neutral"}


# --- loading ---------------------------------------------------------------------------------------

def _lines(path: Path) -> list[str]:
    return [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def sentiment_set(name: str) -> list[tuple[str, set[str], str]]:
    """(label, cues, text) rows of a sentiment file."""
    rows = []
    for line in _lines(DATA / name):
        label, cues, text = line.split(" | ", 2)
        rows.append((LABELS[label], set() if cues == "-" else set(cues.split(",")), text))
    return rows


def conversation_set(name: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in _lines(DATA / name)]
    for row in rows:
        row["labels"] = set(row["y"].split())
    return rows


def language_set() -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / "language.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or " | " not in line:
            continue
        code, text = line.split(" | ", 1)
        rows.append((code.strip(), text.replace("\\n", "\n")))
    return rows


def reply_set() -> list[tuple[bool, str]]:
    return [(line.split(" | ", 1)[0] == "1", line.split(" | ", 1)[1]) for line in _lines(DATA / "replies.txt")]


def conversation_turns(rows: Sequence[dict[str, Any]]) -> list[Turn]:
    return [Turn(f"c{i}", "eval", 0.0, f"c{i}", "u", row["text"], list(row["prev"]), row.get("reply", "ok"))
            for i, row in enumerate(rows)]


def generator_turns(count: int, *, seed: int = 7, unique: bool = False) -> tuple[list[Turn], list[Any]]:
    """Turns (and the generator's truth) the way the pipeline builds them from interactions."""
    from heron.demo.generator import Scenario, generate

    turns, truths = [], []
    for generated in itertools.islice(generate(Scenario(seed=seed)), count):
        it = generated.interaction
        users = [m.content for m in it.input if m.role == "user" and isinstance(m.content, str)]
        tag = f" [{(it.conversation_id or '')[:8]}]" if unique else ""
        turns.append(Turn(
            interaction_id=it.id or "", project="bench", start_time=it.start_time if isinstance(it.start_time, float) else 0.0,
            conversation_id=it.conversation_id, user_id=it.user_id,
            user_text=(users[-1] + tag) if users else "", previous_user_texts=[u + tag for u in users[:-1]],
            reply_text=(it.output + tag) if it.output else "", status=it.status or "ok", error_type=it.error_type,
            finish_reason=it.finish_reason, model=it.model,
        ))
        truths.append(generated.truth)
    return turns, truths


# --- scoring ---------------------------------------------------------------------------------------

def precision_recall(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float, int]:
    tp = sum(1 for t, p in zip(truth, predicted) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted) if p and not t)
    fn = sum(1 for t, p in zip(truth, predicted) if t and not p)
    return tp / max(1, tp + fp), tp / max(1, tp + fn), sum(truth)


def sentiment_quality(rows: Sequence[tuple[str, set[str], str]], lexicon: str) -> dict[str, float]:
    truth = [label for label, _, _ in rows]
    predicted = []
    for _, _, text in rows:
        score = compound(text, lexicon)
        predicted.append("positive" if score > 0.05 else "negative" if score < -0.05 else "neutral")
    f1s = []
    for cls in ("positive", "negative", "neutral"):
        p, r, _ = precision_recall([t == cls for t in truth], [p == cls for p in predicted])
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    accuracy = sum(t == p for t, p in zip(truth, predicted)) / len(truth)
    return {"n": len(rows), "accuracy": accuracy, "macro_f1": sum(f1s) / 3}


def cue_quality(rows: Sequence[tuple[str, set[str], str]]) -> dict[str, tuple[float, float, int]]:
    found = [set(detect_cues(text)) for _, _, text in rows]
    return {cue: precision_recall([cue in c for _, c, _ in rows], [cue in f for f in found]) for cue in CUES}


def conversation_quality(rows: Sequence[dict[str, Any]], enricher: FrustrationEnricher) -> dict[str, Any]:
    turns = conversation_turns(rows)
    signals = [Signals(t.interaction_id) for t in turns]
    SentimentEnricher().enrich(turns, signals)
    enricher.enrich(turns, signals)
    out: dict[str, Any] = {"n": len(rows)}
    for field in ("rephrase", "repeat", "complaint"):
        out[field] = precision_recall([field in r["labels"] for r in rows], [bool(getattr(s, field)) for s in signals])
    frustrated = [("frustrated" in r["labels"]) for r in rows]
    out["frustrated@0.5"] = precision_recall(frustrated, [(s.frustration or 0.0) >= 0.5 for s in signals])
    out["frustration_auc"] = _auc(frustrated, [s.frustration or 0.0 for s in signals])
    return out


def _auc(truth: Sequence[bool], scores: Sequence[float]) -> float:
    """ROC AUC by ranks (ties averaged)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(truth)
    negatives = len(truth) - positives
    if not positives or not negatives:
        return float("nan")
    return float((sum(r for r, t in zip(ranks, truth) if t) - positives * (positives + 1) / 2) / (positives * negatives))


def language_quality(rows: Sequence[tuple[str, str]]) -> dict[str, float]:
    hits = sum(detect(text) == code for code, text in rows)
    und = [(code, text) for code, text in rows if code == "und"]
    return {"n": len(rows), "accuracy": hits / len(rows),
            "und_accuracy": sum(detect(t) == "und" for _, t in und) / max(1, len(und))}


def refusal_quality(rows: Sequence[tuple[bool, str]]) -> tuple[float, float, int]:
    return precision_recall([y for y, _ in rows], [refusal(text) for _, text in rows])


class _Groups:
    """Which paraphrase group of the demo corpus a generated user message comes from.

    The generator's ``Truth.intent`` calls a follow-up drawn from the same
    paraphrase group as the question before it a "follow_up", although it asks
    the same thing again (and the same canned follow-up can come twice); this
    recovers what each message re-asks, for a corrected ground truth.
    """

    def __init__(self) -> None:
        import re

        from heron.demo import _corpus as C

        self._said = sorted((c.rstrip(".") for c in C.COMPLAINTS), key=len, reverse=True)
        self._prefixes = sorted((p for p in C.REPHRASE_PREFIXES if p), key=len, reverse=True)
        self._templates: list[tuple[re.Pattern[str], tuple[str, str]]] = []
        for topic in C.TOPICS.values():
            groups = [(f"{topic.name}/{g}", paraphrases) for g, paraphrases in enumerate(topic.intents)]
            groups += [(f"{topic.name}/f{k}", (f,)) for k, f in enumerate(topic.follow_ups)]
            for group, paraphrases in groups:
                for template in paraphrases:
                    pattern = re.escape(template.lower().rstrip("?.!"))
                    pattern = re.sub(r"\\\{\w+\\\}", ".+?", pattern)
                    self._templates.append((re.compile(f"^{pattern}[?.!]*$"), (topic.name, group)))
        self._memo: dict[str, frozenset[str]] = {}

    def core(self, text: str) -> str:
        """The question without a complaint or rephrase prefix, lower case, end punctuation dropped."""
        core = text.strip().lower()
        for said in self._said:
            if core.startswith(said.lower() + "."):
                core = core[len(said):].lstrip(". ")
                break
        for prefix in self._prefixes:
            if core.startswith(prefix.lower()):
                core = core[len(prefix):]
                break
        return core.rstrip("?.! ")

    def of(self, text: str) -> frozenset[str]:
        found = self._memo.get(text)
        if found is None:
            core = self.core(text)
            found = self._memo[text] = frozenset(g for rx, (_, g) in self._templates if rx.match(core))
        return found


def generator_quality(turns: list[Turn], truths: list[Any]) -> dict[str, Any]:
    signals = [Signals(t.interaction_id) for t in turns]
    for enricher in (LanguageEnricher(), SentimentEnricher(), FrustrationEnricher()):
        for start in range(0, len(turns), 1000):
            enricher.enrich(turns[start:start + 1000], signals[start:start + 1000])
    follow = [i for i, t in enumerate(turns) if t.previous_user_texts]
    out: dict[str, Any] = {"n": len(turns), "with_history": len(follow)}

    def pr(indexes: list[int], truth: Callable[[Any], bool], field: str) -> tuple[float, float, int]:
        return precision_recall([truth(truths[i]) for i in indexes], [bool(getattr(signals[i], field)) for i in indexes])

    out["repeat"] = pr(follow, lambda t: t.intent == "repeat", "repeat")
    out["rephrase"] = pr(follow, lambda t: t.intent == "rephrase" or (t.intent == "complaint" and t.rephrase), "rephrase")
    groups = _Groups()
    reask = {i: bool(groups.of(turns[i].user_text) & frozenset().union(*(groups.of(p) for p in turns[i].previous_user_texts)))
             for i in follow}
    same = {i: any(groups.core(turns[i].user_text) == groups.core(p) for p in turns[i].previous_user_texts)
            for i in follow}
    out["repeat (corrected)"] = precision_recall([same[i] for i in follow], [bool(signals[i].repeat) for i in follow])
    out["rephrase (corrected)"] = precision_recall([reask[i] and not same[i] for i in follow],
                                                   [bool(signals[i].rephrase) for i in follow])
    out["complaint"] = pr(follow, lambda t: t.complaint, "complaint")
    every = list(range(len(turns)))
    out["refusal"] = pr(every, lambda t: t.answer == "refusal", "refusal")
    out["empty_reply"] = pr(every, lambda t: t.answer == "empty", "empty_reply")
    out["truncated"] = pr(every, lambda t: t.answer == "truncated", "truncated")
    out["error"] = pr(every, lambda t: t.answer == "error", "error")
    out["frustration_auc"] = _auc([truths[i].frustrated for i in every], [signals[i].frustration or 0.0 for i in every])
    return out


# --- speed -----------------------------------------------------------------------------------------

def _warm() -> None:
    """Load VADER, CLD2 and the embedding model outside the timed region."""
    from heron.enrich.embeddings import embed

    embed(["warm up"])
    compound("warm up")
    detect("warm up")


def throughput(turns: list[Turn], make: Callable[[], list[Any]], batch: int = 1000, repeat: int = 3) -> float:
    """Turns per second for fresh enrichers from ``make`` over ``turns`` in batches; the best of ``repeat`` runs
    (other work on a shared 2-core machine only ever slows a run down)."""
    best = 0.0
    for _ in range(repeat):
        enrichers = make()
        signals = [Signals(t.interaction_id) for t in turns]
        start = time.perf_counter()
        for i in range(0, len(turns), batch):
            for enricher in enrichers:
                enricher.enrich(turns[i:i + batch], signals[i:i + batch])
        best = max(best, len(turns) / (time.perf_counter() - start))
    return best


SPEED: dict[str, Callable[[], list[Any]]] = {
    "language": lambda: [LanguageEnricher()],
    "sentiment": lambda: [SentimentEnricher()],
    "frustration": lambda: [FrustrationEnricher()],
    "all three": lambda: [LanguageEnricher(), SentimentEnricher(), FrustrationEnricher()],
}


# --- report ----------------------------------------------------------------------------------------

def _pr(value: tuple[float, float, int]) -> str:
    return f"{value[0]:.2f} / {value[1]:.2f} (n+={value[2]})"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    _warm()
    report: dict[str, Any] = {}
    lines = ["| set | metric | value |", "|---|---|---|"]
    for name in ("sentiment.txt", "sentiment_heldout.txt"):
        rows = sentiment_set(name)
        for lexicon in ("vader", "chat"):
            q = sentiment_quality(rows, lexicon)
            report[f"sentiment/{name}/{lexicon}"] = q
            lines.append(f"| {name} (n={q['n']}) | sentiment, {lexicon} lexicon: accuracy / macro-F1 |"
                         f" {q['accuracy']:.3f} / {q['macro_f1']:.3f} |")
        for cue, value in cue_quality(rows).items():
            report[f"cue/{name}/{cue}"] = value
            lines.append(f"| {name} | cue `{cue}`: precision / recall | {_pr(value)} |")
    for name in ("conversations.jsonl", "conversations_heldout.jsonl"):
        qc = conversation_quality(conversation_set(name), FrustrationEnricher())
        report[f"conversation/{name}"] = qc
        for field in ("rephrase", "repeat", "complaint", "frustrated@0.5"):
            lines.append(f"| {name} (n={qc['n']}) | `{field}`: precision / recall | {_pr(qc[field])} |")
        lines.append(f"| {name} | frustration score ROC AUC vs `frustrated` | {qc['frustration_auc']:.3f} |")
    q_lang = language_quality(language_set())
    report["language"] = q_lang
    lines.append(f"| language.txt (n={q_lang['n']}) | accuracy (of which `und` cases) |"
                 f" {q_lang['accuracy']:.3f} ({q_lang['und_accuracy']:.3f}) |")
    q_ref = refusal_quality(reply_set())
    report["refusal"] = q_ref
    lines.append(f"| replies.txt (n={len(reply_set())}) | `refusal`: precision / recall | {_pr(q_ref)} |")
    print("\n".join(lines), flush=True)

    turns, truths = generator_turns(args.turns)
    q_gen = generator_quality(turns, truths)
    report["generator"] = q_gen
    gen = [f"| demo generator ({q_gen['n']} turns, {q_gen['with_history']} with history) | metric | value |",
           "|---|---|---|"]
    for field in ("rephrase", "rephrase (corrected)", "repeat", "repeat (corrected)", "complaint", "refusal",
                  "empty_reply", "truncated", "error"):
        gen.append(f"| generator truth | `{field}`: precision / recall | {_pr(q_gen[field])} |")
    gen.append(f"| generator truth | frustration ROC AUC vs `Truth.frustrated` | {q_gen['frustration_auc']:.3f} |")
    print("\n" + "\n".join(gen), flush=True)

    unique, _ = generator_turns(args.turns, unique=True)
    speed = ["| enricher | demo turns/s | unique-text turns/s |", "|---|---|---|"]
    for name, make in SPEED.items():
        demo_rate, unique_rate = throughput(turns, make), throughput(unique, make)
        report[f"speed/{name}"] = (demo_rate, unique_rate)
        speed.append(f"| {name} | {demo_rate:,.0f} | {unique_rate:,.0f} |")
    print("\n" + "\n".join(speed), flush=True)
    if not args.no_record:
        demo_rate, unique_rate = report["speed/all three"]
        record("signals_per_s", demo_rate, "turns/s", unique_text_turns_per_s=round(unique_rate, 1),
               per_enricher={k.split("/")[1]: round(v[0], 1) for k, v in report.items() if k.startswith("speed/")},
               turns=args.turns, batch=1000)
    return report


if __name__ == "__main__":
    main()
