"""The only place in mailward that talks DNS.

Everything above this package asks questions through :class:`Resolver` and gets an
:class:`Answer` or a typed :mod:`mailward.errors` DNS error; nothing above imports dnspython's
resolver. Implementations: :class:`StubResolver` (live nameservers), :class:`ZoneResolver`
(local zone files, offline) and :class:`CountingResolver` (counts one evaluation's queries).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailward.dns.counting import CountingResolver
    from mailward.dns.resolver import Answer, Resolver
    from mailward.dns.stub import StubResolver
    from mailward.dns.validating import ValidatingResolver
    from mailward.dns.zonefiles import ZoneResolver

# Imported on first use, so `mailward --version` and light commands start fast.
_WHERE = {
    "CountingResolver": "mailward.dns.counting",
    "Answer": "mailward.dns.resolver",
    "Resolver": "mailward.dns.resolver",
    "StubResolver": "mailward.dns.stub",
    "ValidatingResolver": "mailward.dns.validating",
    "ZoneResolver": "mailward.dns.zonefiles",
}
__all__ = [
    "Answer",
    "CountingResolver",
    "Resolver",
    "StubResolver",
    "ValidatingResolver",
    "ZoneResolver",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
