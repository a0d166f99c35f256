"""Counting the DNS queries one evaluation makes, for the limits that bound them.

RFC 7208 §4.6.4 caps an SPF evaluation at 10 terms that cause DNS queries and at 2 "void
lookups" (answers with no records: NXDOMAIN or NODATA). An evaluation wraps the shared resolver
in a fresh :class:`CountingResolver`; the wrapper only counts, so the inner resolver's cache and
in-flight sharing still serve every evaluation. Deciding which queries count against which
limit is the evaluator's business; this module only keeps the tally.
"""

from __future__ import annotations

from mailward.dns.resolver import Answer, Resolver
from mailward.errors import NoAnswer, NXDomain

__all__ = ["CountingResolver"]


class CountingResolver:
    """A :class:`~mailward.dns.resolver.Resolver` that counts the questions put through it.

    ``count`` is the number of questions, ``log`` the ``(name, type)`` of each in order (names
    lower-case with the final dot, types upper-case), ``voids`` how many of them ended in
    NXDOMAIN or NODATA. A question that raises still counts: it was asked.
    """

    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        self.log: list[tuple[str, str]] = []
        self.voids = 0

    @property
    def count(self) -> int:
        return len(self.log)

    async def aclose(self) -> None:
        """Nothing to release: the inner resolver belongs to whoever made it."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        """Count the question, then ask the inner resolver."""
        self.log.append((_normal(name), rdtype.strip().upper()))
        try:
            return await self.inner.query(name, rdtype, dnssec=dnssec)
        except (NXDomain, NoAnswer):
            self.voids += 1
            raise


def _normal(name: str) -> str:
    text = name.strip().lower()
    return text if text.endswith(".") else text + "."
