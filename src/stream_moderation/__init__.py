"""stream-moderation: an async-first SDK for Stream's Moderation API."""

__version__ = "0.1.0"
