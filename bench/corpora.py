"""Labelled text Heron did not write, from packages on the registry (no download at run time).

``chatterbot-corpus`` (a dev dependency) ships small dialog files in 20+ languages, each
file one subject ("money", "sports", "computers", ...), written and translated by that
project's contributors: short chat lines, many of a few words -- where language
identification is hardest. Its Swedish files are mostly English text (untranslated), so
Swedish is left out of the language truth.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

CHATTERBOT_LANGUAGES = {
    "english": "en", "spanish": "es", "german": "de", "french": "fr", "portuguese": "pt", "italian": "it",
    "dutch": "nl", "turkish": "tr", "russian": "ru", "ukrainian": "uk", "indonesian": "id", "chinese": "zh",
    "japanese": "ja", "korean": "ko", "hebrew": "he", "hindi": "hi", "persian": "fa", "bengali": "bn",
    "marathi": "mr", "tamil": "ta", "telugu": "te", "thai": "th", "urdu": "ur",
}  # fmt: skip
"""chatterbot-corpus folder -> ISO 639-1 code (Swedish left out: its files are mostly English)."""


@cache
def chatterbot(folder: str, *, first_only: bool = False) -> dict[str, str]:
    """Every distinct line of one language's files -> the file's subject (its first category).

    ``first_only``: only each conversation's first line -- what the user said, not the bot's answer.
    """
    import chatterbot_corpus  # type: ignore[import-untyped]
    import yaml  # type: ignore[import-untyped]

    lines: dict[str, str] = {}
    for path in sorted((Path(chatterbot_corpus.__file__).parent / "data" / folder).glob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:  # a few files of the package do not parse; they are skipped
            continue
        subject = (doc.get("categories") or [path.stem])[0]
        for conversation in doc.get("conversations") or []:
            for line in conversation[:1] if first_only else conversation:
                if isinstance(line, str) and line.strip():
                    lines.setdefault(line.strip(), str(subject))
    return lines
