"""The emulator's text classifier and block lists: small, deterministic and documented.

``KeywordClassifier`` finds harm labels in a text from fixed trigger phrases and patterns
(listed in ``DEFAULT_TRIGGERS`` and in the README), each with a severity. A custom
classifier is any callable ``(text) -> iterable of Detection``; pass it to the
``Emulator(classifier=...)``. Block lists are word lists matched as whole words, or as
substrings when the config sets ``match_substring``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BUILTIN_BLOCKLISTS",
    "DEFAULT_TRIGGERS",
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
    """A phrase (matched case-insensitively, as whole words) or a regular expression."""

    text: str
    severity: str
    regex: bool = False
    description: str = ""
    """How the README shows a regular expression."""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.regex:
            pattern = self.text
        else:
            words = [re.escape(word) for word in self.text.split()]
            pattern = r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"
        object.__setattr__(self, "_compiled", re.compile(pattern, re.IGNORECASE))

    def find(self, text: str) -> list[str]:
        return [match.group(0) for match in self._compiled.finditer(text)]


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
            r"(?:https?://\S+[\s\S]*?){3}",
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
            r"\b(?:all|those|these)\s+\w+\s+people\s+are\s+(?:animals|scum|vermin|subhuman)\b",
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
            r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b",
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
            r"\b(?:add|message|dm|text|find|contact)\s+me\s+on\s+"
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
        for label, triggers in self.triggers.items():
            found: list[str] = []
            worst = -1
            for trigger in triggers:
                hits = trigger.find(text)
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


def _word_pattern(word: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in word.lower().split()]
    return re.compile(r"(?<![0-9a-z])" + r"\s+".join(parts) + r"(?![0-9a-z])", re.IGNORECASE)


def blocklist_matches(words: Iterable[str], text: str, *, substring: bool) -> list[str]:
    """The entries of a block list found in ``text``: whole words, or anywhere (substring)."""
    lowered = text.lower()
    found: list[str] = []
    for word in words:
        if not word.strip():
            continue
        if substring:
            if word.lower() in lowered:
                found.append(word)
        elif _word_pattern(word).search(text):
            found.append(word)
    return found


def mask_matches(text: str, words: Iterable[str], *, substring: bool) -> str:
    """``text`` with every block-listed entry replaced by asterisks."""
    for word in words:
        if not word.strip():
            continue
        pattern = re.compile(re.escape(word), re.I) if substring else _word_pattern(word)
        text = pattern.sub(lambda m: "*" * len(m.group(0)), text)
    return text
