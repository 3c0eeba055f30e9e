"""A prompt version that answers German users in English shows up as a reply-language mismatch (issue 13, item 6)."""

from __future__ import annotations

import random
import time

import httpx

from tests.conftest import RunningServer
from tests.e2e.test_enrichment import _wait_enriched

QUESTIONS = [
    "Wie kann ich meine Buchung für nächste Woche ändern?",
    "Ich habe meine Rechnung nicht bekommen, können Sie sie noch einmal schicken?",
    "Warum wurde mein Flug storniert und bekomme ich mein Geld zurück?",
    "Kann ich ein zusätzliches Gepäckstück zu meiner Reise hinzufügen?",
    "Mein Passwort funktioniert nicht mehr, was soll ich tun?",
    "Gibt es ein günstigeres Hotel in der Nähe vom Bahnhof?",
]
GERMAN = [
    "Sie können Ihre Buchung in der App unter Meine Reisen ändern. Wählen Sie dort das neue Datum aus.",
    "Ich habe Ihnen die Rechnung gerade noch einmal per E-Mail geschickt. Bitte prüfen Sie auch den Spam-Ordner.",
    "Der Flug wurde wegen des Wetters gestrichen. Die Erstattung kommt innerhalb von sieben Tagen auf Ihr Konto.",
    "Ja, ein weiteres Gepäckstück können Sie bis zu vierundzwanzig Stunden vor dem Abflug hinzufügen.",
]
ENGLISH = [
    "You can change your booking in the app under My trips. Pick the new date there.",
    "I have just sent the invoice to your email again. Please also check your spam folder.",
    "The flight was cancelled because of the weather. The refund reaches your account within seven days.",
]


def test_a_prompt_version_answering_in_english_has_a_mismatch_rate(server: RunningServer) -> None:
    rng = random.Random(3)
    now = time.time()
    items, english = [], set()
    for i in range(120):
        version = "v1" if i % 2 else "v2"
        in_english = version == "v2" and rng.random() < 0.3
        ident = f"turn-{i}"
        if in_english:
            english.add(ident)
        items.append({
            "id": ident, "model": "m", "prompt_version": version, "start_time": now - 600 + i, "latency_ms": 300.0,
            "conversation_id": f"conv-{i}", "input": [{"role": "user", "content": f"{rng.choice(QUESTIONS)} (Nr. {i})"}],
            "output": rng.choice(ENGLISH if in_english else GERMAN),
        })  # fmt: skip
    assert httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers).status_code == 200
    _wait_enriched(server, len(items))

    rows = httpx.get(f"{server.url}/v1/ux/summary?since=1d&group_by=prompt_version", headers=server.read_headers).json()["series"]
    rate = {row["group"]: row["language_mismatch_rate"] for row in rows}
    expected = len(english) / 60
    assert rate["v1"] == 0.0
    assert abs(rate["v2"] - expected) < 1e-9 and 0.15 < expected < 0.45

    turn = httpx.get(f"{server.url}/v1/conversations/conv-0", headers=server.read_headers).json()["interactions"][0]
    assert turn["signals"]["language"] == "de"
    assert turn["signals"]["language_mismatch"] is ("turn-0" in english)
    assert turn["signals"]["reply_language"] == ("en" if "turn-0" in english else "de")
