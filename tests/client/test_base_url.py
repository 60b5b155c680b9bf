"""``base_url`` safety: plain ``http://`` only to a loopback host (or with
``allow_insecure_http=True``), so that a typo cannot send the API key and a token signed
with the secret in clear text. Loopback means ``localhost`` (RFC 6761) or a loopback IP
literal; names that are loopback only by an ``/etc/hosts`` convention
(``localhost.localdomain``, ``ip6-localhost``) or that the resolver sends to DNS
(``localhost.``, ``app.localhost``) are not trusted.
"""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_moderation import AsyncStream, Stream
from stream_moderation._core import check_base_url

KEY, SECRET = "key", "a-secret-that-is-long-enough-for-hs256-keys"

ALLOWED = [
    "https://chat.stream-io-api.com",
    "https://EVIL.example",  # https is fine anywhere
    "http://localhost:8080",
    "HTTP://LocalHost:8080",
    "http://LOCALHOST",
    "http://127.0.0.1:9000",
    "http://127.45.6.7",  # all of 127/8
    "http://[::1]:9000",
    "http://[0:0:0:0:0:0:0:1]",
    "http://[::ffff:127.0.0.1]:8080",  # IPv4-mapped loopback
    "http://user:pw@localhost:1",
    "http://localhost:8080/base/",
]
REFUSED = [
    "http://chat.stream-io-api.com",
    "http://10.0.0.5",
    "http://0.0.0.0:8080",
    "http://[::]:8080",
    "http://localhost.",  # the FQDN form goes to DNS with glibc's files backend
    "http://localhost.:8080",
    "http://app.localhost",
    "http://localhost.localdomain",  # loopback only where /etc/hosts says so
    "http://ip6-localhost",
    "http://localhost.evil.example",
    "http://127.0.0.1.evil.example",
    "http://localhost@evil.example",  # userinfo, not host
    "http://localhost:80@evil.example",
    "http://evil.example#@localhost",
    "http://evil.example?@localhost",
    "http://2130706433",  # 127.0.0.1 as a number: not a literal the check trusts
    "http://[::ffff:10.0.0.1]",
    "ftp://example.com",
    "ws://localhost",
    "file:///etc/passwd",
    "http:///path",
    "http://::1",  # an IPv6 literal without brackets: not a URL
    "localhost:8080",
    "",
]


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed(url: str) -> None:
    Stream(KEY, SECRET, base_url=url).close()


@pytest.mark.parametrize("url", REFUSED)
def test_refused_with_a_value_error(url: str) -> None:
    with pytest.raises(ValueError):
        check_base_url(url or "http://", allow_insecure_http=False)
    with pytest.raises(ValueError):
        Stream(KEY, SECRET, base_url=url or "http://")


def test_refused_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_BASE_URL", "http://moderation.internal")
    with pytest.raises(ValueError, match="plain http"):
        AsyncStream(KEY, SECRET)
    client = AsyncStream(KEY, SECRET, allow_insecure_http=True)
    assert client.base_url == "http://moderation.internal"


def test_the_error_names_the_way_out() -> None:
    with pytest.raises(ValueError) as caught:
        Stream(KEY, SECRET, base_url="http://moderation.internal")
    message = str(caught.value)
    assert "https" in message and "allow_insecure_http=True" in message
    assert SECRET not in message


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


_PIECES = st.sampled_from(
    [
        "localhost",
        "127.0.0.1",
        "evil.example",
        "[::1]",
        "::1",
        "@",
        "\\",
        "#",
        "?",
        "/",
        ":",
        "[",
        "]",
        "%",
        "%2F",
        "%40",
        ".",
        "80",
        "user",
        "\t",
        " ",
        ";",
    ]
)
_URLS = st.tuples(
    st.sampled_from(["http://", "HTTP://", "http:/", "http:\\\\", "http:"]),
    st.lists(_PIECES, max_size=7),
).map(lambda parts: parts[0] + "".join(parts[1]))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_URLS)
def test_an_accepted_http_base_url_only_ever_reaches_loopback(base_url: str) -> None:
    """Whatever the string, either it is refused (ValueError), or every request the client
    builds from it goes over https or to a loopback host."""
    try:
        client = Stream(KEY, SECRET, base_url=base_url)
    except ValueError:
        return
    with client:
        try:
            url = httpx.URL(client.base_url + "/api/v2/moderation/check")
        except httpx.InvalidURL:
            return
        assert url.scheme == "https" or _is_loopback(url.host), (base_url, url)
