"""Language identification: ISO 639-1 or "und", never an exception."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from heron.enrich import language
from heron.enrich.base import Signals, Turn
from heron.enrich.language import LanguageEnricher, detect

DATA = Path(__file__).parent / "data"


def language_rows() -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / "language.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") and " | " in line:
            code, text = line.split(" | ", 1)
            rows.append((code.strip(), text.replace("\\n", "\n")))
    return rows


@pytest.mark.parametrize(("text", "code"), [
    ("How do I cancel my Pro plan?", "en"),
    ("thanks!", "en"),
    ("ok thank you", "en"),
    ("help pls", "en"),
    ("Comment puis-je annuler mon abonnement ?", "fr"),
    ("Wie kann ich mein Passwort zurücksetzen?", "de"),
    ("¿Cómo cancelo mi suscripción?", "es"),
    ("Как отменить подписку?", "ru"),
    ("サブスクリプションをキャンセルするにはどうすればいいですか？", "ja"),
    ("我怎么取消订阅？", "zh"),
    ("구독을 취소하려면 어떻게 해야 하나요?", "ko"),
    ("איך אני מבטל את המנוי?", "he"),
    ("Why does this fail?\n```python\nfor i in range(10):\n    print(i[0])\n```", "en"),
])
def test_languages(text: str, code: str) -> None:
    assert detect(text) == code


@pytest.mark.parametrize("text", [
    "", " ", "\n\t ", "👍", "😂😂😂", "???", "42", "3.14", "https://example.com/a?b=1", '{"a": [1, 2]}',
    "x = [i**2 for i in range(10) if i % 2 == 0]", "```\nSELECT 1;\n```", "k", "<div></div>", "\x00\x01\x02",
])
def test_undetermined(text: str) -> None:
    assert detect(text) == "und"


def test_bad_unicode_and_huge_input_do_not_raise() -> None:
    assert detect("bad \ud800 surrogate in an English sentence about billing") in ("en", "und")
    assert detect("control \x85\x9f characters in an English sentence about my account") == "en"
    huge = "Please help me understand why my invoice is wrong. " * 25_000
    start = time.perf_counter()
    assert detect(huge) == "en"
    assert time.perf_counter() - start < 1.0


def test_labelled_set_accuracy_floor() -> None:
    rows = language_rows()
    hits = sum(detect(text) == code for code, text in rows)
    assert hits / len(rows) >= 0.9


def test_without_pycld2_a_stopword_fallback_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_cld2", None)
    monkeypatch.setattr(language, "_cld2_loaded", True)
    assert detect("Where is the invoice for my subscription, and how do I get it?") == "en"
    assert detect("Pourquoi ai-je été débité deux fois, je ne comprends pas le problème") == "fr"
    assert detect("我怎么取消订阅") == "zh"
    assert detect("Как отменить подписку?") == "und"


def test_enricher_fills_language_for_every_turn_and_caches() -> None:
    texts = ["How do I reset my password?", "merci beaucoup pour votre aide", "", "👍", "How do I reset my password?"]
    turns = [Turn(str(i), "p", 0.0, None, None, t, [], "") for i, t in enumerate(texts)]
    signals = [Signals(t.interaction_id) for t in turns]
    enricher = LanguageEnricher(cache_size=2)
    enricher.enrich(turns, signals)
    assert [s.language for s in signals] == ["en", "fr", "und", "und", "en"]
    assert len(enricher._cache) <= 2
