"""The RFC 7208 test suite (openspf.org, release 2014.04, as shipped in the pyspf 2.0.14 sdist).

The suite is not copied into the repository: :func:`fetch_suite` downloads the sdist with
``pip download --no-deps --no-binary :all: pyspf==2.0.14`` into ``~/.cache/mailward-tests/``
(``$XDG_CACHE_HOME`` respected) once, and reads ``test/rfc7208-tests.yml`` from the tarball.
Each scenario's ``zonedata`` becomes a :class:`SuiteResolver`: an in-memory
:class:`~mailward.dns.resolver.Resolver` following the suite's driver (pyspf's
``test/testspf.py``): ``SPF`` records double as ``TXT`` when a name lists no ``TXT`` (``TXT:
NONE`` suppresses that), ``TIMEOUT`` times out the questions of a type not listed before it,
names under ``error.`` that are not in the zone time out, and CNAMEs are followed.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import yaml

from mailward.dns.resolver import Answer
from mailward.errors import NoAnswer, NXDomain, TempError

PYSPF = "pyspf==2.0.14"
SDIST = "pyspf-2.0.14.tar.gz"
MEMBER = "pyspf-2.0.14/test/rfc7208-tests.yml"
IN = dns.rdataclass.IN


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mailward-tests"


def fetch_suite() -> str:
    """The suite's YAML text; raises ``RuntimeError`` saying why when it cannot be had."""
    folder = cache_dir()
    sdist = folder / SDIST
    if not sdist.exists():
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        command += ["--disable-pip-version-check", "-d", str(folder), PYSPF]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RuntimeError(f"pip download {PYSPF} failed: {error}") from error
        if done.returncode != 0 or not sdist.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            raise RuntimeError(f"pip download {PYSPF} failed: {' '.join(tail)}")
    with tarfile.open(sdist, "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise RuntimeError(f"{MEMBER} is not in {sdist}")
        return io.TextIOWrapper(member, encoding="utf-8").read()


@dataclass(frozen=True)
class Case:
    """One test: its id, scenario, inputs and accepted results (the first is preferred)."""

    id: str
    scenario: str
    spec: str
    helo: str
    host: str
    mailfrom: str
    results: tuple[str, ...]
    explanation: str | None  # "DEFAULT": a fail without an exp= text
    zone: SuiteResolver


def load_cases(text: str) -> list[Case]:
    cases: list[Case] = []
    for scenario in yaml.safe_load_all(text):
        if not scenario:
            continue
        zone = SuiteResolver(scenario.get("zonedata") or {})
        for test_id, test in scenario["tests"].items():
            result = test["result"]
            cases.append(
                Case(
                    test_id,
                    scenario.get("description", ""),
                    str(test.get("spec", "")),
                    str(test.get("helo", "")),
                    str(test["host"]),
                    str(test.get("mailfrom", "")),
                    tuple(result) if isinstance(result, list) else (result,),
                    test.get("explanation"),
                    zone,
                )
            )
    return cases


Entry = tuple[str, Any]  # (type, value), or ("TIMEOUT", None)


class SuiteResolver:
    """A scenario's zone data as a Resolver (the protocol of :mod:`mailward.dns.resolver`)."""

    def __init__(self, zonedata: dict[str, list[Any]]) -> None:
        self.zone: dict[str, list[Entry]] = {}
        for name, items in zonedata.items():
            entries: list[Entry] = []
            spf: list[Any] = []
            has_txt = False
            for item in items or []:
                if item == "TIMEOUT":
                    entries.append(("TIMEOUT", None))
                    continue
                ((rdtype, value),) = item.items()
                has_txt |= rdtype == "TXT"
                if rdtype == "SPF":
                    spf.append(value)
                elif value != "NONE":
                    entries.append((rdtype, value))
            if not has_txt:
                entries += [("TXT", value) for value in spf]
            self.zone[name.rstrip(".").lower()] = entries

    async def aclose(self) -> None:
        """Nothing to release."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        qname = name.rstrip(".").lower()
        owner, records, chain = qname, [], 0
        while True:
            entries = self.zone.get(owner)
            if entries is None:
                if owner.startswith("error."):
                    raise TempError(qname, rdtype, "timeout (error. name)")
                if chain:
                    raise NoAnswer(qname, rdtype)
                raise NXDomain(qname, rdtype)
            alias = None
            for kind, value in entries:
                if kind == "TIMEOUT":
                    if not records:
                        raise TempError(qname, rdtype, "timeout")
                    break
                if value == "TIMEOUT" and kind == rdtype:
                    raise TempError(qname, rdtype, "timeout")
                if kind == rdtype:
                    records.append(_rdata(kind, value))
                elif kind == "CNAME" and rdtype != "CNAME":
                    alias = str(value).rstrip(".").lower()
            if records or alias is None:
                break
            chain += 1
            if chain > 8:
                raise TempError(qname, rdtype, "CNAME loop")
            owner = alias
        if not records:
            raise NoAnswer(qname, rdtype)
        return Answer(qname + ".", rdtype, owner + ".", tuple(records), 300)


def _rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    kind = dns.rdatatype.from_text(rdtype)
    if rdtype == "A":
        return dns.rdtypes.IN.A.A(IN, kind, str(value))
    if rdtype == "AAAA":
        return dns.rdtypes.IN.AAAA.AAAA(IN, kind, str(value))
    if rdtype == "MX":
        preference, exchange = value
        return dns.rdtypes.ANY.MX.MX(IN, kind, int(preference), _dname(exchange))
    if rdtype == "PTR":
        return dns.rdtypes.ANY.PTR.PTR(IN, kind, _dname(value))
    if rdtype == "CNAME":
        return dns.rdtypes.ANY.CNAME.CNAME(IN, kind, _dname(value))
    if rdtype == "TXT":
        strings = [value] if isinstance(value, str) else list(value)
        return dns.rdtypes.ANY.TXT.TXT(IN, kind, [s.encode("utf-8") for s in strings] or [b""])
    raise ValueError(f"no rdata for {rdtype}")


def _dname(text: str) -> dns.name.Name:
    return dns.name.from_text(str(text).rstrip(".") + ".")
