"""Sign a zone: NSEC or NSEC3 (RFC 9276), incremental, and checked before it is written.

NAME
    signer -- what ``mailward dnssec sign`` and ``mailward dnssec status`` do.

DESCRIPTION
    :func:`sign_zone` takes a zone file's text (plain or already signed) and the zone's keys
    (:mod:`mailward.setup.dnssec_keys`) and returns the signed zone's text:

    - the SOA serial is bumped (a ``YYYYMMDDnn`` serial moves to today's date when behind);
    - old DNSSEC records are dropped and remade: DNSKEY (every *published* key), CDS (SHA-256)
      and CDNSKEY for the key-signing keys (RFC 7344), the NSEC chain, or NSEC3 with hash 1,
      no flags (no opt-out), 0 extra iterations and an empty salt plus NSEC3PARAM (RFC 9276
      §3.1); NSEC/NSEC3 TTLs are min(SOA TTL, SOA minimum) (RFC 9077);
    - every authoritative RRset is signed by each *active* zone-signing key (DNSKEY, CDS and
      CDNSKEY by the key-signing keys; an algorithm without a ZSK signs with its KSK — a CSK),
      with inception an hour in the past (clock skew) and expiration ``validity`` ahead; names
      below a delegation (glue) are not signed, and at a delegation only DS and NSEC are;
    - **incremental**: an old RRSIG is kept if its key is still active, it still signs the
      RRset as it is now (same data and TTL: checked by re-signing deterministically, or by
      verifying), it is valid now, and it expires more than ``refresh`` from now. Unchanged
      data therefore keeps its signatures between runs; changed, new and nearly expired data
      gets new ones; removed data takes its signatures with it.

    Before the text is returned, it is checked (:func:`_SelfCheck`): every signed RRset carries
    one current RRSIG per signing key, and RRsets are validated with dnspython
    (``dns.dnssec.validate_rrsig``) from the text that will be written, against the DNSKEY
    RRset as written — a sample that covers every (type, key, wildcard, new/kept) class of
    signature (``verify="sample"``, the default), or all of them (``verify="full"``). Any
    failure raises :class:`SigningError`; nothing is written.

    :func:`mailward.setup.dnssec_status.status` reads a signed zone and says when its
    signatures expire and when the next re-sign is due.

STANDARDS
    RFC 4033-4035 (DNSSEC), RFC 4034 §3.1.8.1 (signed data), §6 (canonical form and order),
    RFC 6840 §5.1 (NSEC next name not downcased), RFC 5155 (NSEC3), RFC 9276 (NSEC3
    parameters), RFC 9077 (NSEC TTL), RFC 7344 and RFC 8078 (CDS/CDNSKEY), RFC 1982 (serial
    arithmetic), RFC 6672 (DNAME: names below one are not authoritative).

BUGS
    Opt-out is not offered (RFC 9276 §3.1 advises against it for small zones). No ZONEMD.
    Signatures are not jittered: a fresh zone's signatures all expire together, and are then
    all refreshed together.

SECURITY
    The zone text is the user's own but is parsed as hostile (:mod:`mailward.setup._zonedata`;
    errors name the file and line). Private keys stay in memory and are never written here.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import struct
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mailward.errors import MailwardError
from mailward.records.dnssec import algorithm_name, ds_from_dnskey
from mailward.setup._zonedata import Labels, RawRdata, Rdata, RRset, Rrsig, ZoneData, read_zone
from mailward.setup.dnssec_keys import DnssecKey

__all__ = [
    "SignOptions",
    "SignReport",
    "SignedZone",
    "SigningError",
    "ZoneData",
    "next_serial",
    "read_zone",
    "sign_zone",
]

HOUR, DAY = 3600, 86400
T = dns.rdatatype
# Made by the signer: whatever the input holds of these is dropped and remade.
GENERATED = frozenset({T.NSEC, T.NSEC3, T.NSEC3PARAM, T.DNSKEY, T.CDS, T.CDNSKEY})
KEY_SIGNED = frozenset({T.DNSKEY, T.CDS, T.CDNSKEY})  # signed by the key-signing keys
SAMPLE_PER_CLASS = 3
SAMPLE_EXTRA = 24


class SigningError(MailwardError):
    """The zone cannot be signed, or the signed zone did not check out (nothing written)."""


@dataclass(frozen=True)
class SignOptions:
    """How to sign; times are seconds. ``now`` defaults to the clock (tests pass one)."""

    nsec3: bool = False
    validity: int = 14 * DAY
    refresh: int = 5 * DAY
    inception_offset: int = HOUR
    verify: Literal["sample", "full"] = "sample"
    now: int | None = None


@dataclass(frozen=True)
class SignReport:
    """What a signing run did."""

    origin: str
    old_serial: int
    new_serial: int
    denial: str  # "NSEC" or "NSEC3"
    keys: tuple[str, ...]  # the signing keys, described
    made: int  # new signatures
    kept: int  # old signatures carried over (incremental)
    dropped: int  # old signatures not carried over (due, changed, removed, foreign key)
    checked: int  # signatures validated with dnspython before writing
    earliest_expiration: int
    refresh_due: int  # earliest_expiration - refresh: re-sign before this
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignedZone:
    text: str
    report: SignReport


def next_serial(serial: int, now: int) -> int:
    """The next SOA serial (RFC 1982): ``YYYYMMDDnn`` serials jump to today when behind."""
    today = int(time.strftime("%Y%m%d", time.gmtime(now))) * 100
    if 1970010100 <= serial < today and serial <= 2099123199:
        return today
    return (serial + 1) % 2**32


def sign_zone(
    text: str | ZoneData,
    keys: Sequence[DnssecKey],
    *,
    filename: str = "<string>",
    origin: str | None = None,
    options: SignOptions = SignOptions(),
) -> SignedZone:
    """Sign (or re-sign) the zone in ``text`` with ``keys``; see the module doc.

    ``text`` may also be the zone already read (:func:`read_zone`), which is then changed.
    """
    if options.refresh >= options.validity:
        raise SigningError(
            f"--refresh ({_span(options.refresh)}) must be shorter than --validity "
            f"({_span(options.validity)}), or every run would re-sign everything"
        )
    data = text if isinstance(text, ZoneData) else read_zone(text, filename=filename, origin=origin)
    return _Signer(data, keys, options).run()


def _span(seconds: int) -> str:
    if not seconds % DAY:
        return f"{seconds // DAY}d"
    return f"{seconds // HOUR}h" if not seconds % HOUR else f"{seconds}s"


_STAMPS: dict[int, str] = {}


def _stamp(value: int) -> str:
    text = _STAMPS.get(value)
    if text is None:
        if len(_STAMPS) > 4096:
            _STAMPS.clear()
        text = _STAMPS[value] = time.strftime("%Y%m%d%H%M%S", time.gmtime(value))
    return text


def _bitmap(types: Iterable[int]) -> bytes:
    """The NSEC/NSEC3 type bit maps field (RFC 4034 §4.1.2)."""
    windows: dict[int, bytearray] = {}
    for rdtype in types:
        window, bit = divmod(rdtype, 256)
        bits = windows.setdefault(window, bytearray(32))
        bits[bit // 8] |= 0x80 >> (bit % 8)
    out = bytearray()
    for window in sorted(windows):
        bits = windows[window].rstrip(b"\0")
        out += bytes([window, len(bits)]) + bits
    return bytes(out)


_TYPE_TEXT: dict[int, str] = {}


def _type_text(rdtype: int) -> str:
    text = _TYPE_TEXT.get(rdtype)
    if text is None:
        text = _TYPE_TEXT[rdtype] = dns.rdatatype.to_text(rdtype)  # type: ignore[arg-type]
    return text


def _canonical(labels: Labels) -> Labels:
    """Canonical order (RFC 4034 §6.1) for lower-cased names: labels from the root down."""
    return labels[::-1]


def _wire(labels: Labels) -> bytes:
    """A name's wire form (lower case already: its canonical form)."""
    return b"".join(bytes([len(label)]) + label for label in labels)


_PLAIN = re.compile(rb"[a-z0-9_*-]+")  # a label dnspython's to_text() would not escape


def _below(labels: Labels, above: Labels) -> bool:
    return len(labels) > len(above) and labels[-len(above) :] == above


@dataclass(slots=True)
class _Job:
    """One RRset in the output: the keys that sign it, and its RRSIG lines."""

    rrset: RRset
    keys: Sequence[DnssecKey]
    sigs: list[str] = field(default_factory=list)
    kept: list[bool] = field(default_factory=list)


class _Signer:
    def __init__(self, data: ZoneData, keys: Sequence[DnssecKey], options: SignOptions) -> None:
        self.data = data
        self.options = options
        self.now = int(time.time()) if options.now is None else options.now
        self.origin = data.origin
        self.apex: Labels = data.origin.labels
        self.origin_text = data.origin.to_text()
        self.signer_wire = _wire(self.apex)
        self.notes: list[str] = []
        self.inception = self.now - options.inception_offset
        self.expiration = self.now + options.validity
        self.times = struct.pack("!II", self.expiration, self.inception)
        self.times_text = f"{_stamp(self.expiration)} {_stamp(self.inception)}"
        self.made = self.kept = 0
        self.earliest = self.expiration
        self.texts: dict[Labels, str] = {}
        self._choose_keys(keys)

    # -- keys ------------------------------------------------------------------------------
    def _choose_keys(self, keys: Sequence[DnssecKey]) -> None:
        for key in keys:
            if key.zone != self.origin_text:
                raise SigningError(
                    f"{key.describe()} is a key for {key.zone}, not {self.origin_text}"
                )
        self.published = [k for k in keys if k.published(self.now)]
        active = [k for k in self.published if k.active(self.now) and k.private is not None]
        if not active:
            raise SigningError(
                f"no active key for {self.origin_text}: "
                f"run 'mailward dnssec keygen {self.origin_text}'"
            )
        seen: dict[tuple[int, int], DnssecKey] = {}
        for key in self.published:
            other = seen.setdefault((key.algorithm, key.tag), key)
            if other is not key:
                raise SigningError(
                    f"{key.describe()} and {other.describe()} share a key tag; "
                    "remove one and generate another"
                )
        self.ksks: list[DnssecKey] = []
        self.zsks: list[DnssecKey] = []
        for algorithm in sorted({k.algorithm for k in self.published}):
            ksks = [k for k in active if k.algorithm == algorithm and k.is_ksk]
            zsks = [k for k in active if k.algorithm == algorithm and not k.is_ksk]
            if not ksks and not zsks:
                raise SigningError(
                    f"algorithm {algorithm} has a published key but no active one: every "
                    "algorithm in the DNSKEY RRset must sign the whole zone (RFC 4035 §2.2)"
                )
            self.ksks += ksks or zsks
            self.zsks += zsks or ksks

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> SignedZone:
        old_serial, new_serial = self._prepare()
        names = sorted(self.data.nodes, key=_canonical)
        chain, occluded, cuts = self._classify(names)
        if self.options.nsec3:
            self._nsec3(chain, cuts)
            names = sorted(self.data.nodes, key=_canonical)
        else:
            self._nsec(chain, cuts)
        jobs = self._jobs(names, occluded, cuts)
        for job in jobs:
            self._sign(job)
        text = "".join(self._write(jobs))
        checked = _SelfCheck(self, jobs).run()
        report = SignReport(
            origin=self.origin_text,
            old_serial=old_serial,
            new_serial=new_serial,
            denial="NSEC3" if self.options.nsec3 else "NSEC",
            keys=tuple(self._describe(k) for k in dict.fromkeys(self.ksks + self.zsks)),
            made=self.made,
            kept=self.kept,
            dropped=sum(len(v) for v in self.data.rrsigs.values()) - self.kept,
            checked=checked,
            earliest_expiration=self.earliest,
            refresh_due=self.earliest - self.options.refresh,
            notes=tuple(self.notes),
        )
        return SignedZone(text, report)

    def _describe(self, key: DnssecKey) -> str:
        role = "CSK" if key in self.ksks and key in self.zsks else "KSK" if key.is_ksk else "ZSK"
        return f"{key.basename} ({role}, {algorithm_name(key.algorithm)}, key tag {key.tag})"

    def _prepare(self) -> tuple[int, int]:
        """Drop the generated records, bump the serial, add DNSKEY/CDS/CDNSKEY (NSEC3PARAM)."""
        nodes = self.data.nodes
        apex = nodes[self.apex]
        dnskey_ttl: int | None = None
        for labels in list(nodes):
            node = nodes[labels]
            for rdtype in GENERATED.intersection(node):
                if labels == self.apex or rdtype in (T.NSEC, T.NSEC3):
                    if labels == self.apex and rdtype == T.DNSKEY:
                        dnskey_ttl = node[rdtype].ttl
                        self._foreign_keys(node[rdtype])
                    del node[rdtype]
            if not node:
                del nodes[labels]
        soa_set = apex[T.SOA]
        soa: Any = soa_set.rdatas[0]
        old_serial = int(soa.serial)
        new_serial = next_serial(old_serial, self.now)
        soa_set.rdatas = [soa.replace(serial=new_serial)]
        self.nsec_ttl = min(soa_set.ttl, int(soa.minimum))
        ttl = dnskey_ttl if dnskey_ttl is not None else soa_set.ttl
        origin = self.origin
        keys: list[Rdata] = [
            RawRdata(T.DNSKEY, k.dnskey.to_wire(), k.dnskey.to_text()) for k in self.published
        ]
        apex[T.DNSKEY] = RRset(origin, T.DNSKEY, ttl, keys)
        seps = [k for k in self.published if k.is_ksk] or self.published
        cds: list[Rdata] = []
        cdnskey: list[Rdata] = []
        for key in seps:
            ds = ds_from_dnskey(self.origin_text, key.dnskey, 2)
            wire = struct.pack("!HBB", ds.key_tag, ds.algorithm, ds.digest_type)
            cds.append(RawRdata(T.CDS, wire + bytes.fromhex(ds.digest), ds.to_text()))
            cdnskey.append(RawRdata(T.CDNSKEY, key.dnskey.to_wire(), key.dnskey.to_text()))
        apex[T.CDS] = RRset(origin, T.CDS, ttl, cds)
        apex[T.CDNSKEY] = RRset(origin, T.CDNSKEY, ttl, cdnskey)
        if self.options.nsec3:
            param = RawRdata(T.NSEC3PARAM, b"\x01\x00\x00\x00\x00", "1 0 0 -")
            apex[T.NSEC3PARAM] = RRset(origin, T.NSEC3PARAM, 0, [param])
        return old_serial, new_serial

    def _foreign_keys(self, rrset: RRset) -> None:
        ours = {k.dnskey.to_wire() for k in self.published}
        for rdata in rrset.rdatas:
            if rdata.to_digestable() not in ours:
                self.notes.append(
                    "dropped a DNSKEY that has no published key in the key directory: "
                    + rdata.to_text()[:40]
                    + "…"
                )

    def _classify(self, names: list[Labels]) -> tuple[list[Labels], set[Labels], set[Labels]]:
        """Names in the denial chain (canonical order), names below a cut or DNAME, cuts."""
        chain: list[Labels] = []
        occluded: set[Labels] = set()
        cuts: set[Labels] = set()
        above: Labels | None = None  # the cut or DNAME we are below, if any
        nodes = self.data.nodes
        for labels in names:
            if above is not None:
                if _below(labels, above):
                    occluded.add(labels)
                    continue
                above = None
            node = nodes[labels]
            chain.append(labels)
            if T.NS in node and labels != self.apex:
                cuts.add(labels)
                above = labels
            elif T.DNAME in node:
                above = labels
        return chain, occluded, cuts

    def _types(self, labels: Labels, cut: bool) -> set[int]:
        node = self.data.nodes[labels]
        if cut:
            return {t for t in node if t in (T.NS, T.DS)}
        return set(node)

    def _text(self, labels: Labels) -> str:
        text = self.texts.get(labels)
        if text is None:
            plain = _PLAIN.fullmatch
            if len(labels) > 1 and all(plain(label) for label in labels[:-1]):
                text = b".".join(labels).decode("ascii")  # nothing to escape
            else:
                text = dns.name.Name(labels).to_text()
            self.texts[labels] = text
        return text

    def _nsec(self, chain: list[Labels], cuts: set[Labels]) -> None:
        maps: dict[frozenset[int], tuple[bytes, str]] = {}
        nodes = self.data.nodes
        for index, labels in enumerate(chain):
            following = chain[(index + 1) % len(chain)]
            types = frozenset(self._types(labels, labels in cuts) | {T.NSEC, T.RRSIG})
            found = maps.get(types)
            if found is None:
                order = sorted(types)
                found = maps[types] = (_bitmap(order), " ".join(_type_text(t) for t in order))
            wire = _wire(following) + found[0]
            text = f"{self._text(following)} {found[1]}"
            node = nodes[labels]
            name = next(iter(node.values())).name
            node[T.NSEC] = RRset(name, T.NSEC, self.nsec_ttl, [RawRdata(T.NSEC, wire, text)])

    def _nsec3(self, chain: list[Labels], cuts: set[Labels]) -> None:
        names: dict[Labels, frozenset[int]] = {}
        for labels in chain:
            cut = labels in cuts
            present = self._types(labels, cut)
            if not cut or T.DS in present:
                present.add(T.RRSIG)
            names[labels] = frozenset(present)
        empty: frozenset[int] = frozenset()
        for labels in chain:  # empty non-terminals between each name and the apex
            parent = labels
            while len(parent) > len(self.apex):
                parent = parent[1:]
                if parent in names:
                    break
                names[parent] = empty
        hashed = sorted((hashlib.sha1(_wire(n)).digest(), n) for n in names)
        maps: dict[frozenset[int], tuple[bytes, str]] = {}
        labels_of = [base64.b32hexencode(digest).lower() for digest, _ in hashed]
        nodes = self.data.nodes
        for index, (digest, original) in enumerate(hashed):
            if index and digest == hashed[index - 1][0]:
                raise SigningError(f"NSEC3 hash collision: {original} and {hashed[index - 1][1]}")
            after = (index + 1) % len(hashed)
            types = names[original]
            found = maps.get(types)
            if found is None:
                order = sorted(types)
                found = maps[types] = (_bitmap(order), " ".join(_type_text(t) for t in order))
            wire = b"\x01\x00\x00\x00\x00\x14" + hashed[after][0] + found[0]
            text = f"1 0 0 - {labels_of[after].decode('ascii')} {found[1]}".rstrip()
            owner = (labels_of[index], *self.apex)
            rrset = RRset(
                dns.name.Name(owner), T.NSEC3, self.nsec_ttl, [RawRdata(T.NSEC3, wire, text)]
            )
            nodes.setdefault(owner, {})[T.NSEC3] = rrset

    def _jobs(self, names: list[Labels], occluded: set[Labels], cuts: set[Labels]) -> list[_Job]:
        jobs = []
        nodes = self.data.nodes
        none: tuple[DnssecKey, ...] = ()
        for labels in names:
            node = nodes[labels]
            ordered = sorted(node, key=lambda t: (t != T.SOA, t))
            if labels in occluded:
                jobs += [_Job(node[t], none) for t in ordered]
                continue
            cut = labels in cuts
            for rdtype in ordered:
                if cut and rdtype not in (T.DS, T.NSEC):
                    keys: Sequence[DnssecKey] = none
                else:
                    keys = self.ksks if rdtype in KEY_SIGNED else self.zsks
                jobs.append(_Job(node[rdtype], keys))
        return jobs

    # -- signatures ------------------------------------------------------------------------
    def _sign(self, job: _Job) -> None:
        rrset = job.rrset
        rdatas = rrset.rdatas
        if len(rdatas) == 1:
            wires = [rdatas[0].to_digestable()]
        else:
            by_wire = {rdata.to_digestable(): rdata for rdata in rdatas}
            wires = sorted(by_wire)
            if len(wires) < len(rdatas):  # duplicates: keep one of each (RFC 2181 §5)
                rrset.rdatas = [by_wire[w] for w in wires]
        if not job.keys:
            return
        labels = rrset.name.labels
        owner = _wire(labels)
        head = owner + struct.pack("!HHI", rrset.rdtype, 1, rrset.ttl)
        tail = b"".join(head + len(w).to_bytes(2, "big") + w for w in wires)
        count = len(labels) - 1 - (labels[0] == b"*")
        old = self.data.rrsigs.get((labels, rrset.rdtype))
        start = f"{_type_text(rrset.rdtype)} "
        for key in job.keys:
            kept = self._reuse(old, key, rrset, count, tail) if old else None
            if kept is not None:
                job.sigs.append(kept[0])
                job.kept.append(True)
                self.earliest = min(self.earliest, kept[1])
                self.kept += 1
                continue
            fields = struct.pack("!HBBI", rrset.rdtype, key.algorithm, count, rrset.ttl)
            data = fields + self.times + key.tag.to_bytes(2, "big") + self.signer_wire + tail
            signature = base64.b64encode(key.sign(data)).decode("ascii")
            job.sigs.append(
                f"{start}{key.algorithm} {count} {rrset.ttl} {self.times_text} {key.tag} "
                f"{self.origin_text} {signature}"
            )
            job.kept.append(False)
            self.made += 1

    def _reuse(
        self, old: Iterable[Rrsig], key: DnssecKey, rrset: RRset, labels: int, tail: bytes
    ) -> tuple[str, int] | None:
        """The text and expiration of an old RRSIG by ``key`` that may stay, or ``None``."""
        for sig in old:
            if (
                sig.key_tag != key.tag
                or sig.algorithm != key.algorithm
                or sig.signer != self.origin
                or sig.labels != labels
                or sig.original_ttl != rrset.ttl
                or sig.inception > self.now
                or sig.expiration - self.now <= self.options.refresh
            ):
                continue
            expiration, inception = int(sig.expiration), int(sig.inception)
            fields = struct.pack(
                "!HBBIIIH",
                rrset.rdtype,
                key.algorithm,
                labels,
                rrset.ttl,
                expiration,
                inception,
                key.tag,
            )
            data = fields + self.signer_wire + tail
            signature = bytes(sig.signature)
            same = key.deterministic and key.sign(data) == signature
            if same or key.verify(signature, data):
                text = (
                    f"{_type_text(rrset.rdtype)} {key.algorithm} {labels} {rrset.ttl} "
                    f"{_stamp(expiration)} {_stamp(inception)} {key.tag} {self.origin_text} "
                    + base64.b64encode(signature).decode("ascii")
                )
                return text, expiration
        return None

    # -- output ----------------------------------------------------------------------------
    def _write(self, jobs: list[_Job]) -> list[str]:
        if self.options.nsec3:
            mode = "NSEC3 (hash 1, no opt-out, 0 iterations, no salt: RFC 9276)"
        else:
            mode = "NSEC"
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.now))
        first = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.earliest))
        lines = [
            f"; {self.origin_text} signed by mailward on {when}; {mode}\n",
            f"; the first signatures expire {first}; see 'mailward dnssec status'\n",
            f"$ORIGIN {self.origin_text}\n",
        ]
        for job in jobs:
            rrset = job.rrset
            owner = self._text(rrset.name.labels)
            start = f"{owner}\t{rrset.ttl}\tIN\t{_type_text(rrset.rdtype)}\t"
            lines += [f"{start}{rdata.to_text()}\n" for rdata in rrset.rdatas]
            if job.sigs:
                start = f"{owner}\t{rrset.ttl}\tIN\tRRSIG\t"
                lines += [f"{start}{sig}\n" for sig in job.sigs]
        return lines


class _SelfCheck:
    """Validate the signed zone as written, with dnspython, before it leaves :func:`sign_zone`."""

    def __init__(self, signer: _Signer, jobs: list[_Job]) -> None:
        self.signer = signer
        self.jobs = jobs
        self.origin = signer.origin

    def run(self) -> int:
        signer = self.signer
        apex_keys = signer.data.nodes[signer.apex][T.DNSKEY]
        keyset = dns.rrset.from_text_list(
            self.origin, apex_keys.ttl, "IN", "DNSKEY", [r.to_text() for r in apex_keys.rdatas]
        )
        for job in self.jobs:  # one current RRSIG per signing key, whatever the sample
            if len(job.sigs) != len(job.keys):
                where = f"{job.rrset.name} {_type_text(job.rrset.rdtype)}"
                raise SigningError(f"self-check failed, nothing written: {where} lacks signatures")
        if signer.options.verify == "full":
            chosen = [job for job in self.jobs if job.keys]
        else:
            chosen = self._sample()
        return sum(self._validate(job, keyset) for job in chosen)

    def _sample(self) -> list[_Job]:
        """Every class of signature (type, wildcard, new or kept, per key) a few times, and a
        spread of others."""
        per_class: Counter[tuple[int, bool, tuple[bool, ...]]] = Counter()
        chosen: list[_Job] = []
        signed = [job for job in self.jobs if job.keys]
        for job in signed:
            rrset = job.rrset
            kind = (rrset.rdtype, rrset.name.labels[0] == b"*", tuple(job.kept))
            if per_class[kind] < SAMPLE_PER_CLASS:
                chosen.append(job)
                per_class[kind] += 1
        picker = random.Random(len(signed))  # a spread, not a secret
        chosen += picker.sample(signed, min(SAMPLE_EXTRA, len(signed)))
        return list({id(job): job for job in chosen}.values())

    def _validate(self, job: _Job, keyset: dns.rrset.RRset) -> int:
        rrset = job.rrset
        what = f"{rrset.name} {_type_text(rrset.rdtype)}"
        try:
            texts = [r.to_text() for r in rrset.rdatas]
            data = dns.rrset.from_text_list(
                rrset.name, rrset.ttl, "IN", _type_text(rrset.rdtype), texts
            )
            sigs = dns.rrset.from_text_list(rrset.name, rrset.ttl, "IN", "RRSIG", job.sigs)
        except Exception as exc:
            raise SigningError(
                f"self-check failed, nothing written: {what} does not read back: {exc}"
            ) from None
        for sig in sigs:
            try:
                dns.dnssec.validate_rrsig(
                    data, sig, {self.origin: keyset}, self.origin, self.signer.now
                )
            except dns.dnssec.ValidationFailure as exc:  # type: ignore[attr-defined]
                raise SigningError(
                    f"self-check failed, nothing written: the RRSIG by key {sig.key_tag} over "
                    f"{what} does not validate ({exc}); does each .private file match its .key?"
                ) from None
        return len(sigs)
