"""Which ICE candidates of an investor's offer the server may send connectivity checks to.

aiortc sends STUN binding requests to every address:port an offer names. Without a filter an
offer can make the server probe its own loopback services, link-local hosts (cloud metadata at
169.254.169.254) or any host of its private network. So before aiortc sees an offer, its
``a=candidate`` lines are filtered:

- always dropped: unspecified (0.0.0.0, ::), multicast, link-local, site-local (fec0::/10),
  reserved and broadcast addresses, names that are not IP addresses (mDNS ``*.local`` names
  included: they resolve on the server's own network), and loopback unless
  ``allow_loopback`` (tests and the local demo);
- dropped unless inside one of ``private_networks``: every other address that is not globally
  routable (RFC 1918, CGNAT 100.64/10, unique-local fc00::/7, ...), e.g. a branch LAN;
- kept: global addresses.

An IPv6 address that carries an IPv4 one is judged by that too: IPv4-mapped (::ffff:0:0/96)
as the IPv4 address alone; 6to4 (2002::/16), Teredo (its client address) and NAT64
(64:ff9b::/96) are dropped for the reason their IPv4 address would be (2002:7f00:1:: is
``loopback``), then judged as IPv6 addresses as well.

The investor's browser can still reach the server: it sends its own checks to the server's
candidates, and the server answers the address they come from (a peer-reflexive candidate,
authenticated by the ICE password of the answer). That is why an offer whose candidates were
dropped also loses its ``a=end-of-candidates``: the server keeps waiting for those checks
instead of failing at once. Pure text in, text out: no aiortc here.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CandidatePolicy:
    """What remote candidates may name. ``private_networks``: CIDRs of non-global ranges."""

    allow_loopback: bool = False
    private_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings) -> CandidatePolicy:
        return cls(allow_loopback=settings.ice_allow_loopback,
                   private_networks=tuple(parse_networks(settings.ice_private_networks)))

    def refusal(self, host: str) -> str | None:
        """Why a candidate address is dropped (a short reason), or None to keep it."""
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return "mdns" if host.lower().endswith(".local") else "not_an_address"
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            else:
                embedded = _embedded_ipv4(ip)
                reason = self.refusal(str(embedded)) if embedded is not None else None
                if reason is not None:
                    return reason
                if ip.is_site_local:  # fec0::/10: deprecated, and never global
                    return "site_local"
        if ip.is_unspecified:
            return "unspecified"
        if ip.is_multicast:
            return "multicast"
        if ip.is_loopback:
            return None if self.allow_loopback else "loopback"
        if ip.is_link_local:
            return "link_local"
        if ip.is_reserved:
            return "reserved"
        if ip.is_global:
            return None
        if any(ip.version == net.version and ip in net for net in self.private_networks):
            return None
        return "private"


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and routes to: 6to4 (2002::/16), Teredo
    (2001::/32, its client address) or NAT64 (64:ff9b::/96); None for any other."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_networks(values) -> list[IPNetwork]:
    """CIDR strings as networks; ValueError naming the one that is not a network."""
    out: list[IPNetwork] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network; write it like 10.20.0.0/16 or "
                             "fd00::/8") from None
    return out


def filter_candidates(sdp: str, policy: CandidatePolicy) -> tuple[str, Counter[str]]:
    """The SDP without the candidates ``policy`` refuses, and how many were dropped per reason.

    Lines are removed as they are (no re-serialising), split as aiortc splits them
    (``str.splitlines``) and joined with the offer's CRLF (or LF); a=end-of-candidates goes
    too when any candidate was dropped (see the module docstring).
    """
    # The lines aiortc will read: it splits with str.splitlines(), which also breaks at a bare
    # \r or \n in a CRLF offer, \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029. Splitting on
    # \r\n alone let a candidate behind one of those through unseen (retest N4); the offer
    # is rejoined with one line break, so aiortc reads exactly the lines judged here.
    lines = sdp.splitlines()
    newline = "\r\n" if "\r\n" in sdp else "\n"
    if sdp.splitlines(keepends=True)[-1:] != lines[-1:]:  # it ended with a line break
        lines.append("")
    dropped: Counter[str] = Counter()
    kept: list[str] = []
    for line in lines:
        if line.startswith("a=candidate:"):
            parts = line.split()
            reason = policy.refusal(parts[4]) if len(parts) >= 8 else "malformed"
            if reason is not None:
                dropped[reason] += 1
                continue
        kept.append(line)
    if dropped:
        kept = [line for line in kept if line.strip() != "a=end-of-candidates"]
    return newline.join(kept), dropped
