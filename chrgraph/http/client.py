"""The client address of a request: what the login throttle counts by.

It is the peer, unless the peer is one of `CHRGRAPH_TRUSTED_PROXIES`: then the
`X-Forwarded-For` hops are read from the right (each appended by the proxy that saw the
one before it) and the first hop that is not a trusted proxy is the client. Hops left of
it were written by the client itself and are never believed. An IPv6 client counts as
its /64 network: one host commonly holds a whole /64, and would otherwise get a fresh
address per guess."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The networks of a `CHRGRAPH_TRUSTED_PROXIES` value (checked when settings load)."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip())


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _counted_as(address: Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _forwarded_for(scope: Scope) -> list[str]:
    hops: list[str] = []
    for key, value in scope.get("headers", ()):
        if key == b"x-forwarded-for":
            hops.extend(value.decode("latin-1").split(","))
    return hops


def client_address(scope: Scope, trusted_proxies: str = "") -> str:
    """The address the throttle counts this request by (see the module's docstring)."""
    peer_host = (scope.get("client") or (None, 0))[0]
    peer = _parse(peer_host) if isinstance(peer_host, str) else None
    if peer is None:
        return UNKNOWN
    networks = trusted_networks(trusted_proxies) if trusted_proxies else ()
    if not networks or not _trusted(peer, networks):
        return _counted_as(peer)
    client = peer
    for hop in reversed(_forwarded_for(scope)):
        address = _parse(hop)
        if address is None:
            break  # a trusted proxy never writes this: keep the last address believed
        client = address
        if not _trusted(address, networks):
            break
    return _counted_as(client)
