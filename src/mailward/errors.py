"""The one exception tree of mailward.

Parsers never raise on bad input (they keep diagnostics); these are for failures to *run*::

    MailwardError
    ├── UsageError              bad command-line or configuration input
    ├── ZoneLoadError           a zone file given to the zone-file resolver cannot be loaded
    └── DNSError                a DNS question could not be answered with data
        ├── NXDomain            the name does not exist (authoritative)
        ├── NoAnswer            the name exists, but has no data of that type (NODATA)
        └── TempError           SERVFAIL, REFUSED, timeout, network failure: *not* an answer
            └── NotLoaded       offline: no zone file given covers the name

A ``TempError`` must never be read as "record missing": callers that catch ``DNSError`` to
mean "absent" catch ``NXDomain`` and ``NoAnswer`` only.
"""

from __future__ import annotations


class MailwardError(Exception):
    """Something mailward could not do."""


class UsageError(MailwardError):
    """The command line or configuration asks for something that cannot be done."""


class ZoneLoadError(MailwardError):
    """A zone file could not be loaded; the message names the file and line."""


class DNSError(MailwardError):
    """A DNS question got no usable data."""

    def __init__(self, qname: str, rdtype: str, detail: str = "") -> None:
        self.qname = qname
        self.rdtype = rdtype
        self.detail = detail
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
