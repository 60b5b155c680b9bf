"""Generated docstrings say something: a model's is its schema's description (or what the
model is for), never only its name; a method's first line is not repeated below it."""

from __future__ import annotations

import inspect

import attrs

from stream_moderation import AsyncStream, Stream, models


def _said(text: str) -> str:
    return " ".join(text.split()).rstrip(".").lower()


def test_a_model_has_a_docstring_that_says_more_than_its_name_or_none() -> None:
    classes = [getattr(models, name) for name in models.__all__]
    classes = [cls for cls in classes if isinstance(cls, type) and attrs.has(cls)]
    assert classes
    empty = []
    for cls in classes:
        doc = cls.__dict__.get("__doc__")
        if doc is None:
            empty.append(cls.__name__)
            continue
        assert _said(doc) not in {_said(cls.__name__), "a model of the stream moderation api"}
    assert len(empty) < len(classes) / 10, empty  # most schemas are described


def test_a_method_docstring_does_not_repeat_its_first_line() -> None:
    for client in (AsyncStream("key", "s" * 32), Stream("key", "s" * 32)):
        methods = inspect.getmembers(client.moderation, callable)
        documented = [(name, m.__doc__) for name, m in methods if not name.startswith("_")]
        assert documented
        for name, doc in documented:
            assert doc, name
            paragraphs = [p for p in inspect.cleandoc(doc).split("\n\n") if p.strip()]
            if len(paragraphs) > 1:
                assert _said(paragraphs[0]) != _said(paragraphs[1]), name
