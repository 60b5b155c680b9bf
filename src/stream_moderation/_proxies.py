"""Which proxy a client goes through, and whether credentials may travel through it.

Environment proxies are honoured (``trust_env=True``, httpx's default): ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``ALL_PROXY`` (upper or lower case), with ``NO_PROXY``; a server in a
network whose egress goes through a proxy works as every other HTTP client there does.
The client resolves the proxy for its ``base_url`` once, here, and hands the same answer
to whichever transport it uses (httpx's, or the aiohttp one, which on its own would
ignore the variables), so both behave the same. ``trust_env=False`` ignores them;
``proxy=`` names one explicitly.

The guard is the one ``base_url`` has: the API key and the server token never travel in
clear text off this host. Through an ``https://`` destination a proxy only relays a TLS
tunnel (``CONNECT``) and never sees them; for a plain ``http://`` destination (loopback,
or allowed with ``allow_insecure_http``) the proxy receives the request as it is, so a
proxy that is not loopback must be ``https://`` unless ``allow_insecure_http=True``.
"""

from __future__ import annotations

import importlib.util

import httpx
from httpx._utils import URLPattern, get_environment_proxies  # httpx's own reading of env

from ._exceptions import ArgumentValueError, InsecureTransportError

__all__ = ["ProxyChoice", "check_proxy", "is_loopback", "resolve_proxy"]

LOOPBACK_NAMES = frozenset({"localhost"})
"""Names trusted as loopback: only ``localhost`` (RFC 6761). ``localhost.localdomain`` or
``ip6-localhost`` are loopback only where /etc/hosts says so, and go to DNS elsewhere."""

SOCKS_EXTRA = 'pip install "stream-moderation[socks]"'


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1
    return address.is_loopback


class ProxyChoice:
    """The proxy for a base URL (``url`` None: none) and where it came from."""

    __slots__ = ("source", "url")

    def __init__(self, url: httpx.URL | None, source: str) -> None:
        self.url = url
        self.source = source

    def describe(self) -> str:
        """The proxy without its credentials, e.g. ``http://proxy.corp:3128``."""
        if self.url is None:
            return "no proxy"
        port = f":{self.url.port}" if self.url.port else ""
        return f"{self.url.scheme}://{self.url.host}{port}"


def resolve_proxy(base_url: str, *, proxy: str | httpx.URL | None, trust_env: bool) -> ProxyChoice:
    """The proxy requests to ``base_url`` go through: ``proxy`` when given, else the
    environment's (as httpx reads it) when ``trust_env``, else none."""
    if proxy is not None:
        try:
            return ProxyChoice(httpx.URL(str(proxy)), "proxy=")
        except httpx.InvalidURL as exc:
            raise ArgumentValueError(f"proxy is not a valid URL ({exc})") from None
    if not trust_env:
        return ProxyChoice(None, "trust_env=False")
    url = httpx.URL(base_url)
    patterns = sorted(
        ((URLPattern(key), value) for key, value in get_environment_proxies().items()),
        key=lambda item: item[0],
    )
    for pattern, value in patterns:
        if pattern.matches(url):
            if value is None:
                return ProxyChoice(None, "NO_PROXY")
            variable = {"http://": "HTTP_PROXY", "https://": "HTTPS_PROXY"}.get(
                pattern.pattern, "ALL_PROXY"
            )
            try:
                return ProxyChoice(httpx.URL(value), variable)
            except httpx.InvalidURL as exc:
                raise ArgumentValueError(f"{variable} is not a valid URL ({exc})") from None
    return ProxyChoice(None, "environment")


def check_proxy(
    base_url: str, choice: ProxyChoice, *, allow_insecure_http: bool, transport: str
) -> None:
    """Refuse a proxy that would see credentials in clear text off this host, one of a
    kind the transport cannot use, or a socks proxy without the extra that speaks it."""
    proxy = choice.url
    if proxy is None:
        return
    scheme = proxy.scheme
    if scheme not in ("http", "https", "socks5", "socks5h"):
        raise ArgumentValueError(
            f"unsupported proxy scheme {scheme!r} ({choice.source}): use http, https or socks5"
        )
    destination = httpx.URL(base_url)
    if (
        destination.scheme == "http"
        and scheme != "https"
        and not is_loopback(proxy.host)
        and not allow_insecure_http
    ):
        raise InsecureTransportError(
            f"refusing to send the API key and a token signed with the secret in clear text "
            f"through the proxy {choice.describe()} ({choice.source}) to {destination.host}: "
            "use an https base_url or proxy, a loopback proxy, NO_PROXY, trust_env=False, "
            "or allow_insecure_http=True"
        )
    if scheme.startswith("socks"):
        if transport == "aiohttp":
            raise ArgumentValueError(
                f"the aiohttp transport cannot use the socks proxy {choice.describe()} "
                f"({choice.source}): use AsyncStream's default transport, with the 'socks' "
                f"extra ({SOCKS_EXTRA})"
            )
        if importlib.util.find_spec("socksio") is None:
            raise ArgumentValueError(
                f"the socks proxy {choice.describe()} ({choice.source}) needs the 'socks' "
                f"extra: {SOCKS_EXTRA}"
            )
