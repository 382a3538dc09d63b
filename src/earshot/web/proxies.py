"""The client's address behind trusted reverse proxies.

Why it matters: sign-in back-off is counted per account *and client address*. Behind a
TLS proxy every request comes from the proxy's address, so without the forwarded
address every user would share one count; but a forwarded header is just text the
client can write, so it is believed only when the request comes from a proxy listed in
the ``trusted_proxies`` setting, and only as far as the chain of trusted proxies goes:
the header is read from the right (the hop our own proxy appended) to the left, and
the first address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["HEADERS", "ProxyTrust"]

HEADERS = ("x-forwarded-for", "forwarded")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> str | None:
    """A bare IP address from a header value (``[v6]:port``, ``v4:port``, quoted), or None."""
    text = value.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _forwarded_for(header: str) -> list[str]:
    """The ``for=`` values of an RFC 7239 Forwarded header, in order."""
    found = []
    for element in header.split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.strip().lower() == "for":
                found.append(value)
    return found


@dataclass(frozen=True)
class ProxyTrust:
    """Which peers are our proxies, and which header they write."""

    networks: tuple[IPNetwork, ...] = ()
    header: str = "x-forwarded-for"

    @classmethod
    def parse(cls, spec: str | Iterable[str], header: str = "x-forwarded-for") -> ProxyTrust:
        """From the setting: addresses or networks, comma-separated (``127.0.0.1, 10.0.0.0/8``)."""
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        networks = []
        for item in (i.strip() for i in items):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConfigError(
                    f"trusted_proxies: {item!r} is not an IP address or network "
                    "(e.g. 127.0.0.1 or 10.0.0.0/8)"
                ) from None
        name = header.strip().lower()
        if name not in HEADERS:
            raise ConfigError(
                f"forwarded_header must be one of {', '.join(HEADERS)}, not {header!r}"
            )
        return cls(tuple(networks), name)

    def trusted(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The client's address: the peer, unless the peer is a trusted proxy."""
        peer = peer or "unknown"
        if not self.trusted(peer):
            return peer
        raw = headers.get(self.header)
        if not raw:
            return peer
        hops = _forwarded_for(raw) if self.header == "forwarded" else raw.split(",")
        current = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return current  # garbage where a proxy should have written: stop there
            current = address
            if not self.trusted(address):
                return address
        return current
