"""The resolver interface: one async question, one typed outcome.

``await resolver.query(name, rdtype, dnssec=False)`` returns an :class:`Answer` holding the
records (after CNAME chasing), the CNAME chain, the RRSIGs (when ``dnssec``) and the AD bit; or
raises :class:`~mailward.errors.NXDomain`, :class:`~mailward.errors.NoAnswer` or
:class:`~mailward.errors.TempError`. A timeout is a ``TempError``, never a missing record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import dns.rdata
import dns.rrset


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
