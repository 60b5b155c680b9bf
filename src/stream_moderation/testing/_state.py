"""The emulator's in-memory state: plain records, one collection per resource.

Every timestamp is an int of unix nanoseconds and every record has a ``seq`` (creation
order), which breaks ties when the clock stands still. Records are rendered into response
JSON by ``_render``; nothing here knows about HTTP.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ActionLog",
    "Appeal",
    "Ban",
    "Block",
    "Channel",
    "Config",
    "EntityState",
    "Flag",
    "Message",
    "Mute",
    "PolicyTestRun",
    "PolicyTestSet",
    "Queue",
    "ReviewItem",
    "SentText",
    "State",
    "User",
]


@dataclass(slots=True)
class User:
    id: str
    created_at: int
    updated_at: int
    name: str | None = None
    image: str | None = None
    role: str = "user"
    language: str = ""
    teams: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    invisible: bool = False
    bypass_moderation: bool = False
    deleted_at: int | None = None
    """Set by the ``delete_user`` action and by ``delete_users`` (soft or pruning)."""
    teams_role: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    """Creation order (0 for users made known before it was kept)."""


@dataclass(slots=True)
class Block:
    """``user_id`` blocked ``blocked_user_id`` (the users API's block)."""

    user_id: str
    blocked_user_id: str
    created_at: int


@dataclass(slots=True)
class Channel:
    """A chat channel (only what message moderation needs of one)."""

    type: str
    id: str
    created_at: int
    updated_at: int
    seq: int
    created_by_id: str | None = None
    team: str | None = None
    frozen: bool = False
    disabled: bool = False
    custom: dict[str, Any] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)

    @property
    def cid(self) -> str:
        return f"{self.type}:{self.id}"


@dataclass(slots=True)
class Message:
    """A chat message as stored after moderation (what its sender was answered)."""

    id: str
    cid: str
    user_id: str
    text: str
    type: str
    """``regular``, ``error`` (blocked by moderation) or ``deleted``."""
    created_at: int
    updated_at: int
    seq: int
    html: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    moderation: dict[str, Any] | None = None
    """The ModerationV2Response of its check (``action``, ``original_text``), if any."""
    shadowed: bool = False
    silent: bool = False
    parent_id: str | None = None
    deleted_at: int | None = None


@dataclass(slots=True)
class Config:
    key: str
    team: str
    sections: dict[str, Any]
    """The policy as sent (``ai_text_config``, ``block_list_config``, ``async``, ...)."""
    created_at: int
    updated_at: int
    seq: int


@dataclass(slots=True)
class Flag:
    id: str
    type: str
    """``flag`` for users' and moderators' flags, the engine name for automatic ones."""
    entity_type: str
    entity_id: str
    user_id: str
    created_at: int
    updated_at: int
    seq: int
    entity_creator_id: str | None = None
    reason: str | None = None
    labels: list[str] = field(default_factory=list)
    result: list[dict[str, Any]] = field(default_factory=list)
    custom: dict[str, Any] | None = None
    moderation_payload: dict[str, Any] | None = None
    review_queue_item_id: str | None = None


@dataclass(slots=True)
class ActionLog:
    id: str
    type: str
    created_at: int
    seq: int
    user_id: str
    target_user_id: str
    reporter_type: str
    reason: str = ""
    custom: dict[str, Any] = field(default_factory=dict)
    ai_providers: list[str] = field(default_factory=list)
    entity_type: str | None = None
    entity_id: str | None = None
    review_queue_item_id: str | None = None


@dataclass(slots=True)
class Ban:
    target_user_id: str
    created_at: int
    seq: int
    created_by_id: str | None = None
    channel_cid: str | None = None
    reason: str | None = None
    shadow: bool = False
    ip_ban: bool = False
    expires: int | None = None

    def active(self, now: int) -> bool:
        return self.expires is None or self.expires > now


@dataclass(slots=True)
class Mute:
    user_id: str
    target_id: str
    created_at: int
    updated_at: int
    expires: int | None = None


@dataclass(slots=True)
class Appeal:
    id: str
    user_id: str
    entity_type: str
    entity_id: str
    appeal_reason: str
    created_at: int
    updated_at: int
    seq: int
    status: str = "submitted"
    """``submitted``, then ``accepted`` or ``rejected``."""
    attachments: list[str] = field(default_factory=list)
    decision_reason: str | None = None
    entity_content: dict[str, Any] | None = None
    review_queue_item_id: str | None = None


@dataclass(slots=True)
class ReviewItem:
    id: str
    entity_type: str
    entity_id: str
    created_at: int
    updated_at: int
    seq: int
    recommended_action: str
    entity_creator_id: str | None = None
    status: str = "complete"
    """The check status: the emulator's checks are synchronous, so always ``complete``."""
    severity: int = 0
    ai_text_severity: str = ""
    languages: list[str] = field(default_factory=list)
    moderation_payload: dict[str, Any] | None = None
    config_key: str | None = None
    teams: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    actions: list[ActionLog] = field(default_factory=list)
    reviewed_by: str = ""
    reviewed_at: int | None = None
    completed_at: int | None = None
    latest_moderator_action: str = ""
    escalated: bool = False
    escalated_at: int | None = None
    escalated_by: str | None = None
    escalation_metadata: dict[str, Any] | None = None
    assigned_to: str | None = None
    lock_expires: int | None = None
    appeal_id: str | None = None
    channel_cid: str | None = None
    """The channel of a chat entity, when its check named one (``options.channel_cid``)."""


@dataclass(slots=True)
class Queue:
    """A saved view of the review queue (``create_queue``)."""

    id: str
    name: str
    type: str
    """``personal_view`` (listed for its creator only) or ``operational_queue``."""
    filters: dict[str, Any]
    sort: list[dict[str, Any]]
    description: str
    created_by: str
    created_at: int
    updated_at: int
    seq: int


@dataclass(slots=True)
class PolicyTestSet:
    id: str
    name: str
    mode: str
    config_key: str
    """As given; empty for the default policy of chat messages."""
    team: str
    rows: list[dict[str, Any]]
    created_by: str
    created_at: int
    updated_at: int
    seq: int
    run_ids: list[str] = field(default_factory=list)
    """Its runs, oldest first."""


@dataclass(slots=True)
class PolicyTestRun:
    id: str
    set_id: str
    task_id: str
    config_key: str
    status: str
    triggered_by: str
    created_at: int
    rows_total: int
    rows_completed: int = 0
    started_at: int | None = None
    completed_at: int | None = None
    config_updated_at: int | None = None
    error_message: str | None = None
    metrics: dict[str, Any] | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class SentText:
    """A text a user sent through ``check``, remembered for flood detection."""

    at: int
    text: str
    """Normalised: lower case, whitespace collapsed."""


@dataclass(slots=True)
class EntityState:
    """What moderator actions did to a piece of content (the emulator has no content store)."""

    deleted: str | None = None
    """``soft`` or ``hard`` after a delete action; None after ``restore``."""
    blocked: bool = False
    shadow_blocked: bool = False
    masked: bool = False


SENT_TEXTS_PER_USER = 200
"""How many of a user's texts flood detection remembers."""


class State:
    """Every collection of the emulator."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self.users: dict[str, User] = {}
        self.configs: dict[tuple[str, str], Config] = {}
        self.items: dict[str, ReviewItem] = {}
        self.items_by_entity: dict[tuple[str, str], str] = {}
        self.flags: list[Flag] = []
        self.logs: list[ActionLog] = []
        self.bans: list[Ban] = []
        self.mutes: dict[tuple[str, str], Mute] = {}
        self.appeals: dict[str, Appeal] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.action_configs: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.chat_tasks: dict[str, dict[str, Any]] = {}
        self.label_results: list[dict[str, Any]] = []
        self.templates: dict[str, dict[str, Any]] = {}
        self.feedback: list[dict[str, Any]] = []
        self.bulk_image_jobs: dict[str, dict[str, Any]] = {}
        self.entities: dict[tuple[str, str], EntityState] = {}
        self.queues: dict[str, Queue] = {}
        self.policy_sets: dict[str, PolicyTestSet] = {}
        self.policy_runs: dict[str, PolicyTestRun] = {}
        self.setup_session: dict[str, Any] | None = None
        self.blocks: dict[tuple[str, str], Block] = {}
        """(user_id, blocked_user_id) -> the block."""
        self.channels: dict[str, Channel] = {}
        """By cid (``type:id``)."""
        self.messages: dict[str, Message] = {}
        self.user_tasks: dict[str, dict[str, Any]] = {}
        """The tasks ``delete_users`` started (``GET /api/v2/tasks/{id}``), as answered."""
        self.sent_texts: dict[str, collections.deque[SentText]] = {}
        """Each user's recent texts (newest last, at most ``SENT_TEXTS_PER_USER``)."""
        self.bounced: set[tuple[str, str]] = set()
        self.flag_counts: dict[str, int] = {}
        """Flags on each user's content (the EntityCreatorResponse counter)."""
        self.check_counts: dict[str, int] = {}
        self.last_checks: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        """Per entity, the fingerprint of its last check and what it answered (an identical
        re-check is answered the same, with nothing recorded again)."""
        """Checks received per entity id (test_mode included)."""
        self._undo: list[Callable[[], object]] | None = None

    def next_seq(self) -> int:
        return next(self._seq)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Undo what ``user()`` did when the block raises: handlers register the acting
        user before they find out that the request must be refused. (Handlers check
        everything else before they change anything.)"""
        self._undo = []
        try:
            yield
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            self._undo = None

    # -- users ----------------------------------------------------------------------------

    def user(self, user_id: str, now: int, details: dict[str, Any] | None = None) -> User:
        """The user with this id, created on first sight; ``details`` is a UserRequest."""
        user = self.users.get(user_id)
        if user is None:
            user = User(id=user_id, created_at=now, updated_at=now, seq=self.next_seq())
            self.users[user_id] = user
            if self._undo is not None:
                self._undo.append(lambda: self.users.pop(user_id, None))
        elif details and self._undo is not None:
            self._undo.append(functools.partial(self.users.__setitem__, user_id, copy.copy(user)))
        if details:
            for name in ("name", "image", "role", "language", "invisible"):
                if details.get(name) is not None:
                    setattr(user, name, details[name])
            if details.get("teams") is not None:
                user.teams = list(details["teams"])
            if details.get("custom") is not None:
                user.custom = dict(details["custom"])
            user.updated_at = now
        return user

    # -- bans -----------------------------------------------------------------------------

    def active_bans(self, user_id: str, now: int) -> list[Ban]:
        return [ban for ban in self.bans if ban.target_user_id == user_id and ban.active(now)]

    def entity(self, entity_type: str, entity_id: str) -> EntityState:
        key = (entity_type, entity_id)
        state = self.entities.get(key)
        if state is None:
            state = self.entities[key] = EntityState()
        return state

    def item_for(self, entity_type: str, entity_id: str) -> ReviewItem | None:
        item_id = self.items_by_entity.get((entity_type, entity_id))
        return self.items.get(item_id) if item_id is not None else None
