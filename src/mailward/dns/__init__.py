"""The only place in mailward that talks DNS.

Everything above this package asks questions through :class:`Resolver` and gets an
:class:`Answer` or a typed :mod:`mailward.errors` DNS error; nothing above imports dnspython's
resolver. Implementations: :class:`StubResolver` (live nameservers), :class:`ZoneResolver`
(local zone files, offline) and :class:`CountingResolver` (counts one evaluation's queries).
"""

from mailward.dns.counting import CountingResolver
from mailward.dns.resolver import Answer, Resolver
from mailward.dns.stub import StubResolver
from mailward.dns.zonefiles import ZoneResolver

__all__ = ["Answer", "CountingResolver", "Resolver", "StubResolver", "ZoneResolver"]
