"""The emulator's text classifier and block lists: small, deterministic and documented.

``KeywordClassifier`` finds harm labels in a text from fixed trigger phrases and patterns
(listed in ``DEFAULT_TRIGGERS`` and in the README), each with a severity. A custom
classifier is any callable ``(text) -> iterable of Detection``; pass it to the
``Emulator(classifier=...)``. Block lists are word lists matched as whole words, or as
substrings when the config sets ``match_substring``.

Every pattern here runs in time linear in the text, whatever the text: phrases and block
list entries are matched by patterns that start with a literal (so the regex engine skips
ahead to it) and never backtrack (possessive runs between the words); the default
patterns use possessive runs and start only where a run of what they match starts. A
trigger reports at most ``MAX_MATCHES`` matches, so that repeating a trigger does not
grow a detection. ``tests/emulator/test_emulator_linear.py`` holds them to it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BUILTIN_BLOCKLISTS",
    "DEFAULT_TRIGGERS",
    "MAX_MATCHES",
    "SEVERITIES",
    "Classifier",
    "Detection",
    "KeywordClassifier",
    "Trigger",
    "blocklist_matches",
    "mask_matches",
    "normalise_label",
    "severity_rank",
]

SEVERITIES = ("low", "medium", "high", "critical")
"""The spec's severity levels, from least to most severe."""

_SCORES = {"low": 0.55, "medium": 0.75, "high": 0.9, "critical": 0.99}

MAX_MATCHES = 20
"""The most matches one trigger reports for one text (the first ones)."""


def severity_rank(severity: str) -> int:
    """0 (low) .. 3 (critical); -1 for anything else."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return -1


@dataclass(frozen=True, slots=True)
class Detection:
    """One harm label found in a text."""

    label: str
    severity: str = "medium"
    score: float | None = None
    """Confidence 0-1; defaults from the severity (low .55, medium .75, high .9, critical .99)."""
    matches: tuple[str, ...] = ()
    """The parts of the text that triggered the label."""

    @property
    def confidence(self) -> float:
        return self.score if self.score is not None else _SCORES.get(self.severity, 0.75)


Classifier = Callable[[str], Iterable[Detection]]
"""What the emulator calls to label a text: the default KeywordClassifier, or your own."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A phrase (matched case-insensitively, as whole words) or a regular expression.

    A regular expression of your own is matched case-insensitively as written: keep it
    linear (no nested or adjacent runs that can match the same characters).
    """

    text: str
    severity: str
    regex: bool = False
    description: str = ""
    """How the README shows a regular expression."""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _lowered: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        lowered = None
        if self.regex:
            compiled = re.compile(self.text, re.IGNORECASE)
        else:
            compiled = re.compile(_phrase_pattern(self.text.split(), r"\w"), re.IGNORECASE)
            lowered = re.compile(_phrase_pattern(self.text.lower().split(), r"\w"))
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_lowered", lowered)

    def find(self, text: str) -> list[str]:
        return self._find(text, lowered_copy(text))

    def _find(self, text: str, lowered: str | None) -> list[str]:
        """The (first MAX_MATCHES) matches; ``lowered`` is ``lowered_copy(text)``."""
        if lowered is not None and self._lowered is not None:
            found = self._lowered.finditer(lowered)  # the same positions as in text
        else:
            found = self._compiled.finditer(text)
        return [text[m.start() : m.end()] for m in itertools.islice(found, MAX_MATCHES)]


def lowered_copy(text: str) -> str | None:
    """``text.lower()`` when it keeps every character's position (all but a few scripts),
    so that a match in it is a match at the same place in ``text``; None otherwise."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else None


def _phrase_pattern(words: Sequence[str], word_class: str) -> str:
    """Whole words separated by whitespace, as a pattern that starts with the first word
    (the "not after a word character" check comes after it) and never backtracks."""
    first = re.escape(words[0])
    rest = "".join(r"\s++" + re.escape(word) for word in words[1:])
    return f"{first}(?<!{word_class}{first}){rest}(?!{word_class})"


def _phrases(severity: str, *phrases: str) -> list[Trigger]:
    return [Trigger(phrase, severity) for phrase in phrases]


DEFAULT_TRIGGERS: dict[str, list[Trigger]] = {
    "SPAM": [
        *_phrases(
            "medium",
            "buy now",
            "click here",
            "free money",
            "limited time offer",
            "act now",
            "earn money fast",
            "work from home",
            "100% free",
            "subscribe to my channel",
            "check out my profile",
            "cheap followers",
        ),
        Trigger(
            r"https?://\S(?:[\s\S]*?https?://\S){2}\S*+",
            "low",
            regex=True,
            description="three or more links in one text",
        ),
    ],
    "SCAM": _phrases(
        "high",
        "send me your password",
        "verify your account",
        "you have won",
        "claim your prize",
        "gift card",
        "wire transfer",
        "western union",
        "double your bitcoin",
        "crypto giveaway",
        "send me your bank details",
    ),
    "HARASSMENT": [
        *_phrases(
            "medium",
            "idiot",
            "stupid",
            "loser",
            "moron",
            "dumb",
            "pathetic",
            "shut up",
            "nobody likes you",
        ),
        *_phrases("high", "you are worthless", "you're worthless", "i hate you"),
        *_phrases(
            "critical",
            "i will hurt you",
            "i will find you",
            "i know where you live",
            "kill yourself",
            "kys",
        ),
    ],
    "HATE": [
        *_phrases(
            "high",
            "go back to your country",
            "subhuman",
            "vermin",
            "inferior race",
            "ethnic cleansing",
        ),
        Trigger(
            r"\b(?:all|those|these)\s++\w++\s++people\s++are\s++(?:animals|scum|vermin|subhuman)\b",
            "critical",
            regex=True,
            description='"all/those/these X people are animals/scum/vermin/subhuman" (X: one word)',
        ),
    ],
    "SEXUAL_HARASSMENT": _phrases(
        "high",
        "send nudes",
        "send me nudes",
        "nude pics",
        "sexy pics",
        "show me your body",
        "sleep with me",
    ),
    "SELF_HARM": _phrases(
        "critical",
        "i want to die",
        "kill myself",
        "end my life",
        "cut myself",
        "suicide",
        "self harm",
        "self-harm",
    ),
    "PII": [
        Trigger(
            r"(?<![\w.+-])[\w.+-]++@[\w-]++\.[\w.-]+\b",
            "medium",
            regex=True,
            description="an email address",
        ),
        Trigger(
            r"(?<![\w+])\+?\d(?:[\s.-]?\d){7,14}\b",
            "medium",
            regex=True,
            description="a phone number (8-15 digits, optional +, spaces, dots or dashes)",
        ),
    ],
    "PLATFORM_BYPASS": [
        Trigger(
            r"\b(?:add|message|dm|text|find|contact)\s++me\s++on\s++"
            r"(?:whatsapp|telegram|snapchat|instagram|kik|signal|discord)\b",
            "medium",
            regex=True,
            description='"add/message/dm/text/find/contact me on whatsapp/telegram/snapchat/'
            'instagram/kik/signal/discord"',
        ),
        *_phrases("medium", "my number is", "text me at"),
    ],
}
"""Label -> triggers of the default classifier. A label's severity is that of its most
severe matching trigger."""


class KeywordClassifier:
    """The default classifier: trigger phrases and patterns per label.

    ``KeywordClassifier()`` uses DEFAULT_TRIGGERS; pass ``triggers`` to replace them or
    ``extra`` to add labels/triggers, e.g. ``extra={"PROMO": [Trigger("coupon code", "low")]}``.
    """

    def __init__(
        self,
        triggers: Mapping[str, Sequence[Trigger]] | None = None,
        *,
        extra: Mapping[str, Sequence[Trigger]] | None = None,
    ) -> None:
        merged: dict[str, list[Trigger]] = {
            label: list(items) for label, items in (triggers or DEFAULT_TRIGGERS).items()
        }
        for label, items in (extra or {}).items():
            merged.setdefault(normalise_label(label), []).extend(items)
        self.triggers = merged

    @property
    def labels(self) -> list[str]:
        return sorted(self.triggers)

    def __call__(self, text: str) -> list[Detection]:
        detections: list[Detection] = []
        lowered = lowered_copy(text)
        for label, triggers in self.triggers.items():
            found: list[str] = []
            worst = -1
            for trigger in triggers:
                hits = trigger._find(text, lowered)
                if hits:
                    found.extend(hits)
                    worst = max(worst, severity_rank(trigger.severity))
            if found:
                detections.append(
                    Detection(label=label, severity=SEVERITIES[worst], matches=tuple(found))
                )
        return detections


# Labels as configs spell them ("HATE SPEECH", "hate_speech") -> the classifier's names.
_LABEL_ALIASES = {
    "HATE_SPEECH": "HATE",
    "PLATFORM_CIRCUMVENTION": "PLATFORM_BYPASS",
    "SELFHARM": "SELF_HARM",
    "SEXUAL_HARRASSMENT": "SEXUAL_HARASSMENT",
}


def normalise_label(label: str) -> str:
    """Upper case, words joined by ``_``, known aliases resolved (``hate speech`` -> HATE)."""
    key = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_").upper()
    return _LABEL_ALIASES.get(key, key)


# ---------------------------------------------------------------------------------------
# Block lists
# ---------------------------------------------------------------------------------------

BUILTIN_BLOCKLISTS: dict[str, tuple[str, ...]] = {
    "profanity_en": (
        "fuck",
        "fucking",
        "fucker",
        "motherfucker",
        "shit",
        "bullshit",
        "bitch",
        "asshole",
        "bastard",
        "dickhead",
        "wanker",
        "twat",
        "crap",
        "damn",
        "piss off",
    ),
}
"""The block lists every emulator starts with (more through ``Emulator.add_blocklist``)."""


@functools.lru_cache(maxsize=4096)
def _word_pattern(word: str, *, lowered: bool) -> re.Pattern[str]:
    """A block list entry as whole words; for a lowered text, or case-insensitive."""
    if lowered:
        return re.compile(_phrase_pattern(word.lower().split(), "[0-9a-z]"))
    return re.compile(_phrase_pattern(word.split(), "[0-9a-z]"), re.IGNORECASE)


def blocklist_matches(words: Iterable[str], text: str, *, substring: bool) -> list[str]:
    """The entries of a block list found in ``text``: whole words, or anywhere (substring)."""
    lowered = text.lower()
    same_places = len(lowered) == len(text)
    found: list[str] = []
    for word in words:
        if not word.strip():
            continue
        if substring:
            if word.lower() in lowered:
                found.append(word)
        elif same_places:
            if _word_pattern(word, lowered=True).search(lowered):
                found.append(word)
        elif _word_pattern(word, lowered=False).search(text):
            found.append(word)
    return found


def mask_matches(text: str, words: Iterable[str], *, substring: bool) -> str:
    """``text`` with every block-listed entry replaced by asterisks."""
    for word in words:
        if not word.strip():
            continue
        pattern = (
            re.compile(re.escape(word), re.I) if substring else _word_pattern(word, lowered=False)
        )
        text = pattern.sub(lambda m: "*" * len(m.group(0)), text)
    return text
