"""The resolver interface: one async question, one typed outcome.

``await resolver.query(name, rdtype, dnssec=False)`` returns an :class:`Answer` holding the
records (after CNAME chasing), the CNAME chain, the RRSIGs (when ``dnssec``) and the AD bit; or
raises :class:`~mailward.errors.NXDomain`, :class:`~mailward.errors.NoAnswer` or
:class:`~mailward.errors.TempError`. A timeout is a ``TempError``, never a missing record.

With ``dnssec`` a resolver also hands over what DNSSEC validation needs beyond the records:
``Answer.authority`` (the NSEC/NSEC3 records proving a wildcard expansion) and, on a negative
answer, the error's ``denial`` (:class:`Denial`: the SOA, NSEC and NSEC3 records and their
RRSIGs). A validating resolver fills ``Answer.security`` (and ``security_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import dns.rdata
import dns.rrset

Security = Literal["secure", "insecure", "bogus", "indeterminate"]
"""RFC 4033 §5: proven by a chain from a trust anchor; proven unsigned; failed; no anchor."""


@dataclass(frozen=True)
class Denial:
    """What a negative answer carried, for DNSSEC (``dnssec=True`` only).

    ``name`` is the name denied (the end of the CNAME chain); ``cnames`` and ``rrsigs`` the
    chain that led there and its signatures; ``authority`` the SOA, NSEC and NSEC3 RRsets and
    their RRSIG RRsets from the authority section.
    """

    name: str
    cnames: tuple[dns.rrset.RRset, ...] = ()
    rrsigs: tuple[dns.rrset.RRset, ...] = ()
    authority: tuple[dns.rrset.RRset, ...] = ()


@dataclass(frozen=True)
class Answer:
    """The data for one question. Names are absolute, lower-case text with the final dot."""

    qname: str
    rdtype: str
    name: str  # the owner of ``records``: ``qname`` or the end of its CNAME chain
    records: tuple[dns.rdata.Rdata, ...]
    ttl: int
    cnames: tuple[dns.rrset.RRset, ...] = ()
    rrsigs: tuple[dns.rrset.RRset, ...] = ()
    authenticated: bool = False
    authority: tuple[dns.rrset.RRset, ...] = ()  # dnssec: NSEC/NSEC3 + RRSIGs (wildcards)
    security: Security | None = None  # set by a validating resolver; None: not validated
    security_reason: str = ""  # why it is insecure or indeterminate

    def texts(self) -> list[bytes]:
        """For TXT (and SPF) answers: each record's strings joined with nothing between."""
        return [b"".join(getattr(record, "strings", ())) for record in self.records]


class Resolver(Protocol):
    """Anything that answers DNS questions: the stub, the zone files, the validator."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        """Answer ``name``/``rdtype`` or raise a :class:`~mailward.errors.DNSError`."""
        ...

    async def aclose(self) -> None:
        """Release sockets the resolver keeps; it stays usable (the owner calls this once)."""
        ...
