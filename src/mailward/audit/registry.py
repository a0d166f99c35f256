"""The catalogue of checks: ``@check(area)`` registers ``async def f(ctx) -> list[Finding]``.

Checks run concurrently; one that needs another's data awaits it through the context's memo
(:meth:`~mailward.audit.context.AuditContext.memo`). Each check module lives in
:mod:`mailward.audit.checks` and is imported by :func:`all_checks`. ``AREAS`` fixes the order
areas are shown in (the DNSSEC area is reserved for the DNSSEC checks).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailward.audit.context import AuditContext
from mailward.findings import Finding

CheckFunction = Callable[[AuditContext], Awaitable[list[Finding]]]

AREAS = {
    "mx": "Mail servers (MX)",
    "spf": "SPF",
    "dmarc": "DMARC",
    "dkim": "DKIM",
    "dnssec": "DNSSEC",
    "mta-sts": "MTA-STS",
    "tlsrpt": "TLS reporting",
    "ptr": "Reverse DNS",
    "smtp": "SMTP",
    "dns": "DNS",
}


@dataclass(frozen=True)
class Check:
    name: str
    area: str
    run: CheckFunction


_CHECKS: dict[str, Check] = {}


def check(area: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under ``area`` (one of :data:`AREAS`)."""
    if area not in AREAS:
        raise RuntimeError(f"unknown audit area {area!r}")

    def register(function: CheckFunction) -> CheckFunction:
        name = f"{function.__module__}.{function.__name__}"
        if name in _CHECKS:
            raise RuntimeError(f"check {name} registered twice")
        _CHECKS[name] = Check(name, area, function)
        return function

    return register


@functools.cache
def all_checks() -> tuple[Check, ...]:
    """Every registered check, in area order (the modules are imported once)."""
    # by name: ``mailward.audit`` as an attribute is the one-shot audit() function
    package = importlib.import_module("mailward.audit.checks")
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
    order = list(AREAS)
    return tuple(sorted(_CHECKS.values(), key=lambda c: (order.index(c.area), c.name)))


def area_of(code: str) -> str:
    """The area a finding code belongs to: its prefix (``spf.syntax`` → ``spf``)."""
    prefix = code.split(".", 1)[0]
    return prefix if prefix in AREAS else "dns"
