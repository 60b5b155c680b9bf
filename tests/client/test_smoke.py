import stream_moderation


def test_version() -> None:
    assert stream_moderation.__version__
