"""The one exception tree of mailward.

Parsers never raise on bad input (they keep diagnostics); these are for failures to *run*::

    MailwardError
    ├── UsageError              bad command-line or configuration input
    ├── ZoneLoadError           a zone file given to the zone-file resolver cannot be loaded
    └── DNSError                a DNS question could not be answered with data
        ├── NXDomain            the name does not exist (authoritative)
        ├── NoAnswer            the name exists, but has no data of that type (NODATA)
        └── TempError           SERVFAIL, REFUSED, timeout, network failure: *not* an answer
            ├── NotLoaded       offline: no zone file given covers the name
            └── Bogus           DNSSEC validation failed: the data cannot be trusted

A ``TempError`` must never be read as "record missing": callers that catch ``DNSError`` to
mean "absent" catch ``NXDomain`` and ``NoAnswer`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailward.dns.resolver import Denial


class MailwardError(Exception):
    """Something mailward could not do."""


class UsageError(MailwardError):
    """The command line or configuration asks for something that cannot be done."""


class ZoneLoadError(MailwardError):
    """A zone file could not be loaded; the message names the file and line."""


class DNSError(MailwardError):
    """A DNS question got no usable data."""

    def __init__(
        self,
        qname: str,
        rdtype: str,
        detail: str = "",
        *,
        denial: Denial | None = None,
        security: str | None = None,
    ) -> None:
        self.qname = qname
        self.rdtype = rdtype
        self.detail = detail
        # DNSSEC only: what a negative answer carried (NSEC/NSEC3 proof), and the status a
        # validating resolver gave it ("secure", "insecure", "indeterminate").
        self.denial = denial
        self.security = security
        what = f"{qname} {rdtype}"
        super().__init__(f"{what}: {detail}" if detail else what)


class NXDomain(DNSError):
    """The name does not exist."""


class NoAnswer(DNSError):
    """The name exists but has no records of the asked type."""


class TempError(DNSError):
    """No answer could be had (SERVFAIL, REFUSED, timeout, network): try again later."""


class NotLoaded(TempError):
    """Offline (zone files) only: the name is outside every zone file that was loaded."""


class Bogus(TempError):
    """DNSSEC validation failed: the answer cannot be trusted (and is not "missing").

    ``detail`` says why in words a person can act on; ``kind`` names the cause for programs
    (``ds-mismatch``, ``dnskey-missing``, ``rrsig-expired``, ``rrsig-not-yet-valid``,
    ``bad-signature``, ``unsigned``, ``no-proof``, ...).
    """

    def __init__(
        self,
        qname: str,
        rdtype: str,
        detail: str = "",
        *,
        kind: str = "",
        denial: Denial | None = None,
        security: str | None = "bogus",
    ) -> None:
        super().__init__(qname, rdtype, detail, denial=denial, security=security or "bogus")
        self.kind = kind
