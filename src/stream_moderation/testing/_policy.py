"""Evaluating a moderation config (policy) against a payload: which rules fire, and the
recommended action that results.

Engines evaluated: ``block_list_config`` (block lists, whole words or ``match_substring``),
``ai_text_config`` (and its alias ``bodyguard_config``) and ``llm_config`` through the
classifier, ``automod_toxicity_config`` and ``automod_platform_circumvention_config``
(classifier labels with a score threshold), ``ai_image_config`` (alias
``aws_rekognition_config``) and ``ai_video_config`` (a rule's label, as a slug, in the
media URL), ``flood_config`` (the same user sending identical or similar texts within a
time window; the caller passes the user's recent texts). The other sections are stored and
echoed but not evaluated.

Rule actions rank keep < flag < mask_flag < bounce_flag < shadow < bounce < bounce_remove
< remove; the most severe triggered action decides the recommendation: keep -> keep;
flag, mask_flag -> flag; shadow, bounce, bounce_flag, bounce_remove, remove -> remove.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._classifier import (
    SEVERITIES,
    Classifier,
    Detection,
    blocklist_matches,
    normalise_label,
    severity_rank,
)

__all__ = [
    "ACTION_RANK",
    "FLOOD_DEFAULTS",
    "RECOMMENDATION",
    "Evaluation",
    "Hit",
    "evaluate",
    "flood_problem",
    "normalise_text",
    "parse_duration",
    "recommend",
    "severity_number",
]

ACTION_RANK = {
    "keep": 0,
    "flag": 1,
    "mask_flag": 2,
    "bounce_flag": 3,
    "shadow": 4,
    "bounce": 5,
    "bounce_remove": 6,
    "remove": 7,
}

RECOMMENDATION = {
    "keep": "keep",
    "flag": "flag",
    "mask_flag": "flag",
    "bounce_flag": "remove",
    "shadow": "remove",
    "bounce": "remove",
    "bounce_remove": "remove",
    "remove": "remove",
}

_SEVERITY_NUMBER = {"low": 25, "medium": 50, "high": 75, "critical": 100}

# Automod toxicity may name a generic label; it matches any of these classifier labels.
_TOXIC_LABELS = frozenset({"HARASSMENT", "HATE", "SEXUAL_HARASSMENT", "SELF_HARM"})


def severity_number(severity: str) -> int:
    """The item's integer severity for a severity level (low 25 ... critical 100)."""
    return _SEVERITY_NUMBER.get(severity, 0)


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule that fired."""

    engine: str
    label: str
    action: str
    severity: str | None = None
    score: float | None = None
    matches: tuple[str, ...] = ()
    source: str = "text"

    def result(self) -> dict[str, Any]:
        """The entry in a flag's ``result`` list."""
        out: dict[str, Any] = {
            "engine": self.engine,
            "label": self.label,
            "action": self.action,
            "source": self.source,
        }
        if self.severity is not None:
            out["severity"] = self.severity
        if self.score is not None:
            out["score"] = self.score
        if self.matches:
            out["matches"] = list(self.matches)
        return out


@dataclass(slots=True)
class Evaluation:
    hits: list[Hit] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    """What the classifier found in the texts, whether or not a rule used it."""

    @property
    def top_action(self) -> str:
        actions = [hit.action for hit in self.hits if hit.action in ACTION_RANK]
        return max(actions, key=ACTION_RANK.__getitem__, default="keep")

    @property
    def text_severity(self) -> str:
        ranks = [
            severity_rank(hit.severity)
            for hit in self.hits
            if hit.severity and hit.engine in ("ai_text", "llm")
        ]
        return SEVERITIES[max(ranks)] if ranks and max(ranks) >= 0 else ""

    @property
    def severity(self) -> int:
        ranks = [severity_rank(hit.severity) for hit in self.hits if hit.severity]
        best = max(ranks, default=-1)
        return severity_number(SEVERITIES[best]) if best >= 0 else 0


def recommend(action: str) -> str:
    return RECOMMENDATION.get(action, "flag")


def _section(config: Mapping[str, Any], *names: str) -> Mapping[str, Any] | None:
    """The first of the named sections that is present, when it is not disabled."""
    for name in names:
        section = config.get(name)
        if isinstance(section, Mapping):
            return section if section.get("enabled") is not False else None
    return None


def _merge(detections: Iterable[Detection]) -> dict[str, Detection]:
    """One detection per label: the most severe, with every match."""
    merged: dict[str, Detection] = {}
    for detection in detections:
        label = normalise_label(detection.label)
        current = merged.get(label)
        if current is None:
            merged[label] = Detection(
                label, detection.severity, detection.score, tuple(detection.matches)
            )
            continue
        worse = severity_rank(detection.severity) > severity_rank(current.severity)
        merged[label] = Detection(
            label,
            detection.severity if worse else current.severity,
            max(current.confidence, detection.confidence),
            current.matches + tuple(detection.matches),
        )
    return merged


def _severity_action(rules: Sequence[Mapping[str, Any]], severity: str) -> str | None:
    """The action of the most severe severity rule at or below ``severity``."""
    found = severity_rank(severity)
    best: tuple[int, str] | None = None
    for rule in rules:
        rank = severity_rank(str(rule.get("severity")))
        if 0 <= rank <= found and (best is None or rank > best[0]):
            best = (rank, str(rule.get("action")))
    return best[1] if best else None


def _label_rules(
    engine: str,
    section: Mapping[str, Any],
    detections: Mapping[str, Detection],
    hits: list[Hit],
) -> None:
    covered: set[str] = set()
    for rule in section.get("rules") or []:
        label = normalise_label(str(rule.get("label", "")))
        detection = detections.get(label)
        if detection is None:
            continue
        covered.add(label)
        action = None
        if rule.get("severity_rules"):
            action = _severity_action(rule["severity_rules"], detection.severity)
        if action is None:
            action = rule.get("action") or "flag"
        hits.append(
            Hit(
                engine,
                str(rule.get("label")),
                action,
                detection.severity,
                detection.confidence,
                detection.matches,
            )
        )
    fallback = section.get("severity_rules") or []
    if fallback:
        for label, detection in detections.items():
            if label in covered:
                continue
            action = _severity_action(fallback, detection.severity)
            if action is not None:
                hits.append(
                    Hit(
                        engine,
                        label,
                        action,
                        detection.severity,
                        detection.confidence,
                        detection.matches,
                    )
                )


def _threshold_rules(
    engine: str,
    section: Mapping[str, Any],
    detections: Mapping[str, Detection],
    hits: list[Hit],
) -> None:
    for rule in section.get("rules") or []:
        wanted = normalise_label(str(rule.get("label") or rule.get("name") or ""))
        threshold = float(rule.get("threshold", 0))
        if wanted in ("TOXIC", "TOXICITY"):
            candidates = [d for name, d in detections.items() if name in _TOXIC_LABELS]
        else:
            candidates = [detections[wanted]] if wanted in detections else []
        for detection in candidates:
            if detection.confidence >= threshold:
                hits.append(
                    Hit(
                        engine,
                        str(rule.get("label")),
                        str(rule.get("action")),
                        detection.severity,
                        detection.confidence,
                        detection.matches,
                    )
                )
                break


def _slug_variants(label: str) -> list[str]:
    words = re.findall(r"[0-9a-z]+", label.lower())
    if not words:
        return []
    return ["-".join(words), "_".join(words), "".join(words)]


def _media_rules(
    engine: str, section: Mapping[str, Any], urls: Sequence[str], hits: list[Hit], source: str
) -> None:
    for rule in section.get("rules") or []:
        label = str(rule.get("label", ""))
        variants = _slug_variants(label)
        confidence = 99.0
        if confidence < float(rule.get("min_confidence", 0)):
            continue
        matched = tuple(url for url in urls if any(v in url.lower() for v in variants))
        if matched:
            hits.append(
                Hit(engine, label, str(rule.get("action")), None, confidence, matched, source)
            )


# ---------------------------------------------------------------------------------------
# Flood detection
# ---------------------------------------------------------------------------------------

FLOOD_DEFAULTS: dict[str, Any] = {
    "threshold": 3,
    "time_window": "1m",
    "action": "flag",
    "similarity_distance": 3,
}
"""What an identical/similar section means when it leaves a field out."""
_SIMILAR_MAX_CHARS = 1000
"""Longer texts are compared for identity only (similarity is an edit distance)."""
_SIMILAR_CANDIDATES = 50
"""At most this many of the user's recent texts are compared for similarity."""
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_NS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}


def parse_duration(text: str) -> int:
    """Nanoseconds of a duration such as ``30s``, ``5m``, ``1h30m`` or ``7d``."""
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration such as 30s, 5m, 1h30m or 7d: {text!r}")
    return sum(int(n) * _UNIT_NS[u] for n, u in parts)


def normalise_text(text: str) -> str:
    """A text as flood detection compares it: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def flood_problem(flood: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, problem) of a ``flood_config`` the engine cannot apply, or None."""
    for name in ("identical", "similar"):
        section = flood.get(name) or {}
        where = f"flood_config.{name}"
        window = section.get("time_window")
        if window is not None:
            try:
                if parse_duration(window) <= 0:
                    return f"{where}.time_window", "must be longer than 0"
            except ValueError as exc:
                return f"{where}.time_window", str(exc)
        action = section.get("action")
        if action is not None and action not in ACTION_RANK:
            return f"{where}.action", f"must be one of {', '.join(ACTION_RANK)}"
        for number in ("threshold", "similarity_distance"):
            value = section.get(number)
            if value is not None and value < (1 if number == "threshold" else 0):
                return f"{where}.{number}", "must not be negative" if value < 0 else "at least 1"
    return None


def _edit_distance_within(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of a and b is at most ``limit`` (banded, O(n*limit))."""
    if abs(len(a) - len(b)) > limit:
        return False
    if limit == 0:
        return a == b
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        low, high = max(1, i - limit), min(len(b), i + limit)
        current = [limit + 1] * (len(b) + 1)
        current[0] = i if i <= limit else limit + 1
        for j in range(low, high + 1):
            cost = 0 if char == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if min(current[max(0, low - 1) : high + 1]) > limit:
            return False
        previous = current
    return previous[len(b)] <= limit


def _flood(
    config: Mapping[str, Any],
    texts: Sequence[str],
    history: Sequence[tuple[int, str]],
    now: int,
    hits: list[Hit],
) -> None:
    flood = config.get("flood_config")
    if not isinstance(flood, Mapping):
        return
    allow = {normalise_text(t) for t in flood.get("allowlist") or [] if isinstance(t, str)}
    for kind in ("identical", "similar"):
        section = flood.get(kind)
        if not isinstance(section, Mapping) or section.get("enabled") is False:
            continue
        options = {**FLOOD_DEFAULTS, **{k: v for k, v in section.items() if v is not None}}
        since = now - parse_duration(str(options["time_window"]))
        recent = [text for at, text in history if at > since]
        for raw in texts:
            text = normalise_text(raw)
            if not text or text in allow:
                continue
            if kind == "identical":
                count = 1 + sum(1 for earlier in recent if earlier == text)
            elif len(text) > _SIMILAR_MAX_CHARS:
                continue
            else:
                limit = int(options["similarity_distance"])
                candidates = [t for t in recent if len(t) <= _SIMILAR_MAX_CHARS]
                count = 1 + sum(
                    1
                    for earlier in candidates[-_SIMILAR_CANDIDATES:]
                    if _edit_distance_within(earlier, text, limit)
                )
            if count >= int(options["threshold"]):
                label = f"FLOOD_{kind.upper()}"
                hits.append(
                    Hit("flood", label, str(options["action"]), score=float(count), matches=(raw,))
                )


def evaluate(
    config: Mapping[str, Any],
    payload: Mapping[str, Any],
    *,
    classifier: Classifier,
    blocklists: Mapping[str, Sequence[str]],
    history: Sequence[tuple[int, str]] = (),
    now: int = 0,
) -> Evaluation:
    """Every rule of ``config`` that fires on ``payload`` (texts, images, videos).

    ``history`` is the sender's recent texts (time, normalised text), oldest first, for
    ``flood_config``; without it, a text only floods with itself (a threshold of 1).
    """
    texts = [t for t in payload.get("texts") or [] if isinstance(t, str)]
    images = [u for u in payload.get("images") or [] if isinstance(u, str)]
    videos = [u for u in payload.get("videos") or [] if isinstance(u, str)]
    evaluation = Evaluation()
    hits = evaluation.hits

    block = _section(config, "block_list_config")
    if texts and block is not None:
        substring = bool(block.get("match_substring"))
        for rule in block.get("rules") or []:
            name = rule.get("name")
            words = blocklists.get(name) if isinstance(name, str) else None
            if words is None:
                continue
            found: list[str] = []
            for text in texts:
                found.extend(blocklist_matches(words, text, substring=substring))
            if found:
                hits.append(Hit("block_list", name, str(rule.get("action")), matches=tuple(found)))

    detections: dict[str, Detection] = {}
    if texts:
        detections = _merge(d for text in texts for d in classifier(text))
        evaluation.detections = list(detections.values())
    if detections:
        text_section = _section(config, "ai_text_config", "bodyguard_config")
        if text_section is not None:
            _label_rules("ai_text", text_section, detections, hits)
        llm = _section(config, "llm_config")
        if llm is not None:
            _label_rules("llm", llm, detections, hits)
        for name, engine in (
            ("automod_toxicity_config", "automod_toxicity"),
            ("automod_platform_circumvention_config", "automod_platform_circumvention"),
        ):
            section = _section(config, name)
            if section is not None:
                _threshold_rules(engine, section, detections, hits)

    image_section = _section(config, "ai_image_config", "aws_rekognition_config")
    if images and image_section is not None:
        _media_rules("ai_image", image_section, images, hits, "image")
    video_section = _section(config, "ai_video_config")
    if videos and video_section is not None:
        _media_rules("ai_video", video_section, videos, hits, "video")
    if texts:
        _flood(config, texts, history, now, hits)
    return evaluation
