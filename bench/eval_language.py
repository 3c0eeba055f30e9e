"""Language identification on text Heron did not write (issue 13, item 6).

Every distinct line of chatterbot-corpus (``bench.corpora``: 23 languages, ~13,000 lines,
half of them under 20 letters: "Claro.", "Danke schön", "vale") is identified twice: by
:func:`heron.enrich.language.detect` as shipped, and with the word-frequency evidence
switched off (CLD2 with the common-language prior alone: close to what Heron did before).
Per language: accuracy, share answered ``und``, share named as another language, share
named as a language outside :data:`~heron.enrich.language.COMMON` (the "Samoan for
Spanish" failure), all also for lines under 20 letters; then the speed.

Recorded: ``language_id_accuracy_external_min`` (the worst of en, es, de, fr, pt, the
languages issue 13 names), ``language_id_rare_rate_external`` (share of all lines named
as a rare language) and ``language_id_short_accuracy_external_min`` (same worst-of, lines
under 20 letters).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from unittest import mock

from bench._common import record
from bench.corpora import CHATTERBOT_LANGUAGES, chatterbot
from heron.enrich import _word_prior, language

NAMED = ("en", "es", "de", "fr", "pt")
SHORT_LETTERS = 20


def _letters(text: str) -> int:
    return sum(char.isalpha() for char in text)


def evaluate(detect: Callable[[str], str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per language code, for "all" lines and "short" ones: n, accuracy, und, other and rare shares."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for folder, code in CHATTERBOT_LANGUAGES.items():
        lines = list(chatterbot(folder))
        for name, subset in (("all", lines), ("short", [t for t in lines if _letters(t) < SHORT_LETTERS])):
            if not subset:
                continue
            answers = Counter(detect(text) for text in subset)
            n = len(subset)
            wrong = n - answers[code] - answers[language.UNDETERMINED]
            rare = sum(count for answer, count in answers.items() if answer not in language.COMMON and answer != language.UNDETERMINED)
            out.setdefault(code, {})[name] = {
                "n": n, "accuracy": answers[code] / n, "und": answers[language.UNDETERMINED] / n,
                "other": wrong / n, "rare": rare / n,
            }  # fmt: skip
    return out


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    shipped = evaluate(language.detect)
    with mock.patch.object(_word_prior, "available", lambda: False):
        before = evaluate(language.detect)
    print(f"{'lang':5} {'n':>5} {'short':>5} | {'acc':>5} {'und':>5} {'other':>5} {'rare':>5} | short: {'acc':>5} {'rare':>5} | without words: {'acc':>5} {'rare':>5} {'short acc':>9}")
    for code, row in shipped.items():
        a, s, b = row["all"], row.get("short", {}), before[code]["all"]
        bs = before[code].get("short", {})
        print(
            f"{code:5} {a['n']:5.0f} {s.get('n', 0):5.0f} | {a['accuracy']:5.3f} {a['und']:5.3f} {a['other']:5.3f} {a['rare']:5.3f} | "
            f"       {s.get('accuracy', float('nan')):5.3f} {s.get('rare', float('nan')):5.3f} | "
            f"               {b['accuracy']:5.3f} {b['rare']:5.3f} {bs.get('accuracy', float('nan')):9.3f}"
        )
    total = sum(row["all"]["n"] for row in shipped.values())
    rare = sum(row["all"]["rare"] * row["all"]["n"] for row in shipped.values()) / total
    rare_before = sum(row["all"]["rare"] * row["all"]["n"] for row in before.values()) / total
    worst = min(NAMED, key=lambda code: shipped[code]["all"]["accuracy"])
    worst_short = min(NAMED, key=lambda code: shipped[code]["short"]["accuracy"])
    texts = [text for folder in CHATTERBOT_LANGUAGES for text in chatterbot(folder)]
    language.detect("warm up")
    started = time.perf_counter()
    for text in texts:
        language.detect(text)
    per_s = len(texts) / (time.perf_counter() - started)
    detail = {
        "corpus": f"chatterbot-corpus, {total} distinct lines in {len(shipped)} languages",
        "per_language": {code: {k: {m: round(v, 3) for m, v in row[k].items()} for k in row} for code, row in shipped.items()},
        "without_word_frequencies": {code: round(row["all"]["accuracy"], 3) for code, row in before.items()},
        "rare_rate_without_word_frequencies": round(rare_before, 4),
        "detect_per_s": round(per_s),
    }
    record("language_id_accuracy_external_min", shipped[worst]["all"]["accuracy"], "ratio", worst=worst, detail=detail)
    record("language_id_short_accuracy_external_min", shipped[worst_short]["short"]["accuracy"], "ratio", worst=worst_short)
    record("language_id_rare_rate_external", rare, "ratio", before=round(rare_before, 4))


if __name__ == "__main__":
    main()
