"""Sentiment (VADER compound, exact to the library) and emotional cues."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from heron.enrich._vader import analyzer, compound
from heron.enrich.base import MAX_ENRICH_CHARS, Signals, Turn
from heron.enrich.sentiment import SentimentEnricher, detect_cues, label

DATA = Path(__file__).parent / "data"
LABELS = {"pos": "positive", "neg": "negative", "neu": "neutral"}


def sentiment_rows(name: str) -> list[tuple[str, set[str], str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            tag, cues, text = line.split(" | ", 2)
            rows.append((LABELS[tag], set() if cues == "-" else set(cues.split(",")), text))
    return rows


def turn(user: str, reply: str = "", **kw: object) -> Turn:
    return Turn("i", "p", 0.0, "c", "u", user, [], reply, **kw)  # type: ignore[arg-type]


def run(turns: list[Turn], enricher: SentimentEnricher | None = None, language: str | None = None) -> list[Signals]:
    signals = [Signals(t.interaction_id, language=language) for t in turns]
    (enricher or SentimentEnricher()).enrich(turns, signals)
    return signals


# --- VADER port ------------------------------------------------------------------------------------

EDGE_TEXTS = [
    "", " ", "!!!", "good", "GOOD", "not good", "NOT GOOD at all!!!", "very good", "VERY good", "kind of good",
    "sort of bad", "the shit", "the bomb!", "yeah right", "kiss of death", "never so good", "without doubt good",
    "at least good", "least good", "no problem", "no good", "no or bad", "I like it but it's bad", "good but BAD but ok",
    "😀😀", "I love it 😍", "great!!!!!!", "what??", "what????", "isn't it nice?", "Not bad, not bad at all.",
    "It was fine, but the ending was terrible and the music awful", "I ❤️ this", "smh... wtf", ":) :( :D",
    "haha LOL so funny", "The food was GREAT but the service SUCKED!", "no no no no", "kind of",
]


def test_compound_equals_the_library_on_every_labelled_and_edge_text() -> None:
    sia = analyzer()
    texts = [t for name in ("sentiment.txt", "sentiment_heldout.txt") for _, _, t in sentiment_rows(name)]
    for text in texts + EDGE_TEXTS:
        assert compound(text) == sia.polarity_scores(text)["compound"], text


def test_compound_equals_the_library_on_demo_traffic() -> None:
    from heron.demo.generator import Scenario, generate

    sia = analyzer()
    for generated in itertools.islice(generate(Scenario(seed=3)), 400):
        for text in (generated.interaction.output or "", str(generated.interaction.input[-1].content)):
            assert compound(text) == sia.polarity_scores(text)["compound"], text


def test_chat_lexicon_neutralises_requests_but_keeps_feelings() -> None:
    assert compound("What's the best way to cancel, please help", "vader") > 0.05
    assert compound("What's the best way to cancel, please help", "chat") == 0.0
    assert compound("This is pointless garbage", "chat") < -0.5
    assert compound("I love it, thanks!", "chat") > 0.5
    with pytest.raises(ValueError, match="unknown lexicon 'nope'.*chat"):
        compound("x", "nope")
    with pytest.raises(ValueError, match="unknown lexicon"):
        SentimentEnricher(lexicon="afinn")


def test_label_uses_the_standard_thresholds() -> None:
    assert [label(x) for x in (0.5, 0.05, 0.0, -0.05, -0.06, None)] == [
        "positive", "neutral", "neutral", "neutral", "negative", None]


# --- enricher --------------------------------------------------------------------------------------

def test_enricher_fills_both_polarities_and_cues() -> None:
    [out] = run([turn("This is useless, I'm so frustrated!!", "Great question! Happy to help.")])
    assert out.sentiment is not None and out.sentiment < -0.3
    assert out.reply_sentiment is not None and out.reply_sentiment > 0.3
    assert out.cues == ["anger"]


def test_empty_and_whitespace_messages_give_none_not_zero() -> None:
    for user in ("", "   ", "\n\t"):
        [out] = run([turn(user, "")])
        assert out.sentiment is None and out.reply_sentiment is None and out.cues == []


def test_emoji_only_is_scored_through_vader_emoji_table() -> None:
    [happy, angry] = run([turn("😍😍"), turn("🤬")])
    assert happy.sentiment is not None and happy.sentiment > 0
    assert angry.sentiment is not None


def test_other_languages_are_left_unscored() -> None:
    [out] = run([turn("C'est nul, ça ne marche pas du tout", "Désolé")], language="fr")
    assert out.sentiment is None and out.reply_sentiment is None and out.cues == []
    [out] = run([turn("thanks!", "")], language="en")
    assert out.sentiment is not None and out.cues == ["gratitude"]
    [out] = run([turn("ok", "")], language="und")
    assert out.sentiment == 0.0


def test_huge_message_is_cut_and_fast() -> None:
    huge = ("this is terrible and useless " * 40_000)[:1_000_000]
    start = time.perf_counter()
    [out] = run([turn(huge, huge)])
    assert time.perf_counter() - start < 2.0
    assert out.sentiment is not None and out.sentiment < 0 and "anger" in out.cues
    assert SentimentEnricher().score(huge) == compound(huge[:MAX_ENRICH_CHARS], "chat")


def test_options_switch_parts_off_and_cache_is_bounded() -> None:
    enricher = SentimentEnricher(replies=False, cues=False, cache_size=3)
    outs = run([turn(f"good {i}", "bad") for i in range(10)], enricher)
    assert all(o.reply_sentiment is None and o.cues == [] and o.sentiment is not None for o in outs)
    assert len(enricher._cache._data) <= 3


def test_same_text_gets_the_same_score_from_cache() -> None:
    enricher = SentimentEnricher()
    first = run([turn("I hate waiting")], enricher)[0].sentiment
    assert run([turn("I hate waiting")], enricher)[0].sentiment == first == compound("I hate waiting", "chat")


# --- cues ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "cues"), [
    ("thanks!", ["gratitude"]),
    ("Thank you so much", ["gratitude"]),
    ("much appreciated", ["gratitude"]),
    ("no thanks", []),
    ("thanks for nothing", ["anger"]),
    ("Thanks to the update, the menu moved", []),
    ("I'd appreciate a short answer", []),
    ("not helpful at all", ["anger"]),
    ("That's not helpful", ["anger"]),
    ("This is useless", ["anger"]),
    ("not useless, just slow", []),
    ("I don't hate it", []),
    ("How do I reply to an angry customer?", []),
    ("Oh great, another error.", ["anger"]),
    ("Brilliant, now it's deleted everything. Thanks a lot.", ["anger"]),
    ("I don't understand", ["confusion"]),
    ("what do you mean?", ["confusion"]),
    ("This makes no sense", ["confusion"]),
    ("It doesn't make sense", ["confusion"]),
    ("I understand now, that makes sense", []),
    ("The steps are not confusing at all", []),
    ("huh?", ["confusion"]),
    ("I need this asap", ["urgency"]),
    ("URGENT: site is down", ["urgency"]),
    ("please answer right now", ["urgency"]),
    ("my flight boards in 20 minutes, can I bring a laptop?", ["urgency"]),
    ("No rush, whenever you can", []),
    ("It's not urgent", []),
    ("Right now I'm on the free plan", []),
    ("What's a good 20 minutes workout?", []),
    ("Fix it immediately, this is ridiculous", ["anger", "urgency"]),
    ("", []),
    ("   ", []),
    ("😀", []),
])
def test_cue_cases(text: str, cues: list[str]) -> None:
    assert detect_cues(text) == cues


def test_cues_handle_curly_quotes_and_case() -> None:
    assert detect_cues("I DON\u2019T UNDERSTAND") == ["confusion"]


# --- quality floors (exact figures: docs/ux-quality.md, bench/eval_signals.py) ----------------------

@pytest.mark.parametrize("name", ["sentiment.txt", "sentiment_heldout.txt"])
def test_sentiment_accuracy_floor(name: str) -> None:
    rows = sentiment_rows(name)
    hits = sum(label(compound(text, "chat")) == truth for truth, _, text in rows)
    assert hits / len(rows) >= 0.70


@pytest.mark.parametrize("name", ["sentiment.txt", "sentiment_heldout.txt"])
def test_cue_precision_recall_floor(name: str) -> None:
    rows = sentiment_rows(name)
    found = [set(detect_cues(text)) for _, _, text in rows]
    for cue in ("anger", "confusion", "gratitude", "urgency"):
        tp = sum(1 for (_, truth, _), f in zip(rows, found) if cue in truth and cue in f)
        predicted = sum(1 for f in found if cue in f)
        actual = sum(1 for _, truth, _ in rows if cue in truth)
        assert tp / max(1, predicted) >= 0.75, cue
        assert tp / max(1, actual) >= 0.65, cue
