"""Where a webhook may be sent: public addresses only, so that a subscription cannot make
the server reach into its own network (SSRF).

A URL must be `https`, carry no user name or password, and its host must resolve only to
global addresses. An address is judged after unwrapping the forms that carry an IPv4
address inside an IPv6 one (IPv4-mapped, 6to4, Teredo, the NAT64 prefix 64:ff9b::/96):
loopback, private, link-local (cloud metadata included), multicast, carrier-grade NAT,
0.0.0.0/8 and every other special-purpose range are refused. Each attempt resolves the
host once, judges every address, and connects to the address it judged (the caller sends
SNI and `Host` from the URL), so a DNS answer that changes between check and connection
gains nothing. Hosts named by CHRGRAPH_WEBHOOK_ALLOWED_HOSTS skip the address rule and
may use `http` (development, and the tests' receiver on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges refused although Python's `is_global` may not say so, or to say it plainly.
_REFUSED_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network": connecting to 0.0.0.0 reaches the local host
        "100.64.0.0/10",  # carrier-grade NAT (and Alibaba's metadata at 100.100.100.200)
        "169.254.0.0/16",  # link-local: cloud metadata at 169.254.169.254
        "192.0.0.0/24",  # IETF protocol assignments (Oracle's metadata at 192.0.0.192)
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REFUSED_V6 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",  # unspecified, IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "fc00::/7",  # unique local (AWS metadata at fd00:ec2::254)
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
        "2001::/23",  # IETF protocol assignments (Teredo is unwrapped before this)
        "2001:db8::/32",  # documentation
    )
)


def _embedded(address: ipaddress.IPv6Address) -> list[Address]:
    """The IPv4 addresses an IPv6 address carries (IPv4-mapped, 6to4, Teredo's server and
    client, NAT64); empty for a plain IPv6 address."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def is_public(address: Address) -> bool:
    """Whether a webhook may be sent to `address`: a global unicast address, judged by the
    IPv4 address inside it when it wraps one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded(address)
        if inner:
            return all(is_public(a) for a in inner)
        if any(address in n for n in _REFUSED_V6):
            return False
    elif any(address in n for n in _REFUSED_V4):
        return False
    return address.is_global and not address.is_multicast


class UrlNotAllowed(Exception):
    """Why a webhook may not be sent to a URL (a sentence for the caller)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (`address`), and the host to name in SNI and `Host`."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def url(self) -> str:
        """The URL with the checked address in place of the host name."""
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def allowed_hosts(setting: str) -> frozenset[str]:
    """The hosts of CHRGRAPH_WEBHOOK_ALLOWED_HOSTS, as URLs' hosts are compared: lower
    case, ASCII form (an entry that is no valid name never matches a URL's host)."""
    hosts = set()
    for entry in setting.split(","):
        host = entry.strip().lower().strip("[]")
        if host:
            try:
                hosts.add(_ascii_host(host))
            except UrlNotAllowed:
                hosts.add(host)
    return frozenset(hosts)


def _ascii_host(host: str) -> str:
    """An internationalized host name in its ASCII form (IDNA 2008 with the UTS #46
    mapping, as browsers resolve it: `bücher.example` is `xn--bcher-kva.example`); that
    form is looked up, checked against the allowed hosts and sent in SNI and `Host`."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise UrlNotAllowed("The URL's host is not a valid host name.") from None


def parse_url(url: str, allowed: frozenset[str]) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL a webhook may use, before any lookup."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlNotAllowed("The URL is not valid.") from None
    host = _ascii_host((parts.hostname or "").lower())
    if not host:
        raise UrlNotAllowed("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("The URL may not carry a user name or password.")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in allowed):
        raise UrlNotAllowed("The URL must use https.")
    if parts.fragment:
        raise UrlNotAllowed("The URL may not have a fragment.")
    if not _is_ip(host) and not _HOST_NAME.fullmatch(host):
        raise UrlNotAllowed("The URL's host is not a valid host name.")  # never looked up
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


async def resolve(host: str, port: int) -> list[Address]:
    """Every address the host resolves to (an IP literal is itself, with no lookup)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlNotAllowed("The URL's host does not resolve.") from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UrlNotAllowed("The URL's host does not resolve.")
    return found


async def check(url: str, allowed: frozenset[str]) -> Target:
    """The URL checked now: resolved once, every address public unless the host is allowed;
    the first address is the one to connect to."""
    scheme, host, port, path = parse_url(url, allowed)
    addresses = await resolve(host, port)
    if host not in allowed and not all(is_public(a) for a in addresses):
        raise UrlNotAllowed("The URL's host resolves to an address that is not public.")
    return Target(scheme, host, port, path, str(addresses[0]))
