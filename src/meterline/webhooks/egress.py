"""Webhook egress guard: callbacks never reach loopback, private, link-local, multicast,
reserved or unspecified addresses (a cloud metadata service, the server's own ports, the
operator's network) unless METERLINE_WEBHOOK_ALLOWED_NETWORKS names them.

Checked twice: at subscribe (the URL's host, resolved) and at delivery, by the network
backend of the delivery client (`guarded_transport`): it resolves the host once, checks
every address, and connects to a checked address, so a name that resolves to a public
address at subscribe and to an internal one later (DNS rebinding) is refused. TLS still
verifies the certificate against the URL's host name.
"""

import asyncio
import concurrent.futures
import functools
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING = "METERLINE_WEBHOOK_ALLOWED_NETWORKS"
# Subscribe resolves inside its write transaction: a slow resolver must not hold it long.
RESOLVE_TIMEOUT_SECONDS = 2.0
_resolver = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="meterline-resolve")


@functools.lru_cache(maxsize=16)
def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs ("127.0.0.0/8, 10.1.0.0/16"); "" allows none. ValueError if malformed."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"{SETTING}: {exc}") from None


def _plain(ip: Address) -> Address:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_internal(ip: Address) -> bool:
    ip = _plain(ip)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # shared (100.64/10), documentation, benchmarking ranges ...
    )


def refusal(addresses: Iterable[Address], allowed: tuple[Network, ...], *, host: str) -> str | None:
    """Why `host` must not be called (naming the first refused address and the setting), or None."""
    for ip in addresses:
        plain = _plain(ip)
        if is_internal(plain) and not any(plain in net or ip in net for net in allowed):
            return (
                f"{host} resolves to {plain}, an internal (loopback, private, link-local, multicast or "
                f"reserved) address; webhooks are sent there only if {SETTING} allows it."
            )
    return None


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


_LOOPBACK: tuple[Address, ...] = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def _named_loopback(host: str) -> list[Address]:
    """RFC 6761: `localhost` and `*.localhost` are loopback whatever a resolver answers."""
    name = host.rstrip(".").lower()
    return list(_LOOPBACK) if name == "localhost" or name.endswith(".localhost") else []


def _addresses(infos: Iterable[tuple[Any, ...]], host: str) -> list[Address]:
    out: list[Address] = _named_loopback(host)
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in out:
            out.append(ip)
    return out


def check_host(host: str, allowed: tuple[Network, ...]) -> str | None:
    """At subscribe: the refusal for `host` (an IP literal, or a name resolved now), or None.
    A name that does not resolve now (or not within RESOLVE_TIMEOUT_SECONDS) is not refused
    here; delivery checks it again."""
    literal = _literal(host)
    if literal is not None:
        return refusal([literal], allowed, host=host)
    why = refusal(_named_loopback(host), allowed, host=host)
    if why is not None:
        return why
    try:
        lookup = _resolver.submit(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
        infos = lookup.result(timeout=RESOLVE_TIMEOUT_SECONDS)
    except (OSError, UnicodeError, concurrent.futures.TimeoutError):
        return None
    return refusal(_addresses(infos, host), allowed, host=host)


class EgressRefused(httpcore.ConnectError):
    pass


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, check every address, connect to a checked one."""

    def __init__(self, allowed: tuple[Network, ...]) -> None:
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(timeout):
                    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, TimeoutError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
            addresses = _addresses(infos, host)
        why = refusal(addresses, self._allowed, host=host)
        if why is not None:
            raise EgressRefused("egress refused: " + why)
        last: Exception = httpcore.ConnectError(f"no address for {host}")
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("egress refused: unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(allowed: tuple[Network, ...]) -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connection pool on the guarded network backend.

    httpx takes no network backend of its own, so the pool it built is replaced by the
    same pool with ours (httpx 0.28: `_pool`); tests/webhooks/test_egress.py fails if that
    stops taking effect."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(allowed),
    )
    return transport
