"""One DNS question and its outcome, as data: the one place a DNS error becomes a status.

:func:`ask` puts one question to a :class:`~mailward.dns.resolver.Resolver` and never raises
for a DNS failure: it returns a :class:`Lookup` whose :data:`Status` is ``ok``, ``nxdomain``,
``nodata`` (RFC 2308 §2.2), ``temperror`` (a timeout or SERVFAIL: "could not ask", never
"missing") or ``offline`` (no zone file given covers the name). The audit
(:class:`~mailward.audit.context.AuditContext`) and DMARC evaluation
(:mod:`mailward.auth.dmarc`) both ask through it, so they classify failures alike.

SECURITY: names and answers may come from anyone's DNS. This module asks exactly the one
question it is given and only classifies the outcome (the resolver bounds the answer: its
timeouts and message size). :meth:`Lookup.describe` writes record data as zone-file text:
printable ASCII as is, anything else escaped by dnspython, so an answer cannot break an
evidence line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import dns.rdata
from dns.rdtypes.txtbase import TXTBase

from mailward.dns.resolver import Answer, Resolver
from mailward.errors import NoAnswer, NotLoaded, NXDomain, TempError

__all__ = ["Lookup", "Status", "ask", "rdata_text"]

Status = Literal["ok", "nxdomain", "nodata", "temperror", "offline"]


@dataclass(frozen=True)
class Lookup:
    """The outcome of one question, as data; never an exception."""

    name: str
    rdtype: str
    status: Status
    answer: Answer | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def missing(self) -> bool:
        """The name or the records authoritatively do not exist (not a failure to ask)."""
        return self.status in ("nxdomain", "nodata")

    @property
    def failed(self) -> bool:
        return self.status in ("temperror", "offline")

    @property
    def records(self) -> tuple[Any, ...]:
        return self.answer.records if self.answer else ()

    def texts(self) -> list[bytes]:
        """TXT strings of each record, joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2)."""
        return self.answer.texts() if self.answer else []

    def describe(self) -> str:
        """``name TYPE: outcome`` for evidence lines."""
        if self.answer is not None:
            values = "; ".join(rdata_text(r) for r in self.answer.records)
            return f"{self.name} {self.rdtype}: {values}"
        return (
            f"{self.name} {self.rdtype}: {self.status}{f' ({self.detail})' if self.detail else ''}"
        )


_PLAIN = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # printable ASCII but " and \


def rdata_text(record: dns.rdata.Rdata) -> str:
    """``record.to_text()``; TXT strings that need no escape are written without dnspython's
    character-by-character escaping (a DKIM key is hundreds of characters), same text."""
    if isinstance(record, TXTBase) and all(_PLAIN.fullmatch(s) for s in record.strings):
        return " ".join(f'"{s.decode("ascii")}"' for s in record.strings)
    return record.to_text()


async def ask(resolver: Resolver, name: str, rdtype: str) -> Lookup:
    """One question, its outcome as data: the one place a DNS error becomes a status."""
    try:
        answer = await resolver.query(name, rdtype)
    except NXDomain as exc:
        return Lookup(name, rdtype, "nxdomain", detail=exc.detail)
    except NoAnswer as exc:
        return Lookup(name, rdtype, "nodata", detail=exc.detail)
    except NotLoaded as exc:
        return Lookup(name, rdtype, "offline", detail=exc.detail)
    except TempError as exc:
        return Lookup(name, rdtype, "temperror", detail=exc.detail)
    return Lookup(name, rdtype, "ok", answer=answer)
