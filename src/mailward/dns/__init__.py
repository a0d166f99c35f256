"""The only place in mailward that talks DNS.

Everything above this package asks questions through :class:`Resolver` and gets an
:class:`Answer` or a typed :mod:`mailward.errors` DNS error; nothing above imports dnspython's
resolver.
"""

from mailward.dns.resolver import Answer, Resolver

__all__ = ["Answer", "Resolver"]
