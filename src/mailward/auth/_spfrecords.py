"""SPF records ready to evaluate, kept by their text (the evaluator's warm path).

A record is a pure value of its TXT text, so it is parsed once (:mod:`mailward.records.spf`)
and kept with each mechanism's text and, for ``ip4``/``ip6``, its network as integers.

SECURITY: the texts are hostile DNS data; at most ``MAX_COMPILED`` records of at most
``MAX_COMPILED_TEXT`` octets are kept (the oldest goes first), so the cache stays under 4 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailward.codes import Severity
from mailward.records.spf import SYNTAX, Mechanism, SpfRecord, parse

__all__ = ["Compiled", "Term", "compile_record"]


@dataclass(frozen=True)
class Term:
    """A mechanism ready to evaluate: its text, and for ip4/ip6 the network as integers."""

    mechanism: Mechanism
    text: str
    version: int = 0  # ip4/ip6: 4 or 6; 0: any other mechanism
    shift: int = 0  # host bits
    bits: int = 0  # the network's address >> shift


@dataclass(frozen=True)
class Compiled:
    record: SpfRecord
    error: str | None  # the first syntax error: the record is a permerror
    terms: tuple[Term, ...]


_COMPILED: dict[bytes, Compiled] = {}
MAX_COMPILED = 1024  # records kept parsed (only those up to MAX_COMPILED_TEXT octets)
MAX_COMPILED_TEXT = 4096


def compile_record(text: bytes) -> Compiled:
    """A record parsed once: records are pure values of their text (the warm path)."""
    hit = _COMPILED.get(text)
    if hit is not None:
        return hit
    record = parse(text.decode("utf-8", "replace"))
    error = next(
        (
            d.message
            for d in record.diagnostics
            if d.code is SYNTAX and d.severity is Severity.ERROR
        ),
        None,
    )
    terms: list[Term] = []
    for mechanism in record.mechanisms:
        network = mechanism.network
        if network is None:
            terms.append(Term(mechanism, mechanism.to_text()))
            continue
        shift = network.max_prefixlen - network.prefixlen
        bits = int(network.network_address) >> shift
        terms.append(Term(mechanism, mechanism.to_text(), network.version, shift, bits))
    compiled = Compiled(record, error, tuple(terms))
    if len(text) <= MAX_COMPILED_TEXT:
        if len(_COMPILED) >= MAX_COMPILED:
            del _COMPILED[next(iter(_COMPILED))]
        _COMPILED[text] = compiled
    return compiled
