"""The zone signer: what it writes, incremental re-signing, the self-check, errors, status.

Every signed zone here is read back by dnspython and every RRSIG validated
(``signing_helpers.validate_all``), independently of the signer's own self-check.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import dns.dnssec
import dns.name
import dns.zone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from signing_helpers import SHOP, signed_rrsigs, validate_all

from mailward.dns.zonefiles import load_zone
from mailward.errors import ZoneLoadError
from mailward.setup import signer
from mailward.setup.dnssec_keys import DnssecKey, generate_key, load_keys, write_key
from mailward.setup.dnssec_status import status
from mailward.setup.signer import SigningError, SignOptions, next_serial, sign_zone

DAY = 86400
NOW = int(time.time())
TEXT = SHOP.read_text()


@pytest.fixture(scope="module")
def csk() -> list[DnssecKey]:
    return [generate_key("shop.example", "ecdsap256sha256", now=NOW - DAY)]


@pytest.fixture(scope="module")
def ksk_zsk() -> list[DnssecKey]:
    return [
        generate_key("shop.example", "ed25519", ksk=True, now=NOW - DAY),
        generate_key("shop.example", "ed25519", ksk=False, now=NOW - DAY),
    ]


def sign(text: str, keys: list[DnssecKey], **options: object) -> signer.SignedZone:
    options.setdefault("now", NOW)
    return sign_zone(text, keys, filename="shop.zone", options=SignOptions(**options))  # type: ignore[arg-type]


def records(text: str, rdtype: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.split()[3:4] == [rdtype]]


def test_nsec_zone_is_complete_and_validates(csk: list[DnssecKey]) -> None:
    signed = sign(TEXT, csk)
    text = signed.text
    assert validate_all(text, NOW) == signed.report.made == 32
    soa = records(text, "SOA")[0]
    assert soa[6] == str(next_serial(2026010101, NOW))
    assert signed.report.old_serial == 2026010101 and signed.report.denial == "NSEC"
    # the apex NSEC lists what the apex holds, including the records the signer added
    apex = next(r for r in records(text, "NSEC") if r[0] == "shop.example.")
    assert apex[5:] == ["NS", "SOA", "MX", "TXT", "RRSIG", "NSEC", "DNSKEY", "CDS", "CDNSKEY"]
    assert apex[1] == "300"  # min(SOA TTL 3600, SOA minimum 300), RFC 9077
    owners = {r[0] for r in records(text, "NSEC")}
    assert "ns.sub.shop.example." not in owners  # glue below a delegation
    assert "deep.shop.example." not in owners  # an empty non-terminal has no NSEC
    assert "mixed.case.shop.example." in owners  # owners are written in lower case
    sigs = signed_rrsigs(text)
    covered = {(owner, kind) for owner, kind, _ in sigs}
    assert ("sub.shop.example.", "NS") not in covered  # delegation NS is not signed
    assert ("secure.shop.example.", "DS") in covered
    assert ("ns.sub.shop.example.", "A") not in covered
    wild = next(line for (owner, _, _), line in sigs.items() if owner == "*.wild.shop.example.")
    assert wild.split()[6] == "3"  # labels: the "*" does not count (RFC 4034 §3.1.3)
    cds = records(text, "CDS")[0]
    assert cds[4:7] == [str(csk[0].tag), "13", "2"]


def test_nsec3_uses_rfc_9276_parameters_and_covers_empty_non_terminals(
    csk: list[DnssecKey],
) -> None:
    signed = sign(TEXT, csk, nsec3=True)
    text = signed.text
    validate_all(text, NOW)
    assert records(text, "NSEC") == []
    assert records(text, "NSEC3PARAM")[0][4:] == ["1", "0", "0", "-"]
    nsec3 = records(text, "NSEC3")
    assert all(r[4:8] == ["1", "0", "0", "-"] for r in nsec3)
    # 13 authoritative names (glue excluded) + the empty non-terminals deep., b.deep.,
    # _tcp.mail., _domainkey., wild. and case. = 19 hashed owners, in one closed ring
    assert len(nsec3) == 19
    ring = {r[0].split(".")[0]: r[8] for r in nsec3}
    start = next(iter(ring))
    seen, current = set(), start
    while current not in seen:
        seen.add(current)
        current = ring[current]
    assert seen == set(ring) and current == start
    hashed = dns.name.from_text("b.deep.shop.example.")
    owner = dns.dnssec.nsec3_hash(hashed, salt=None, iterations=0, algorithm=1).lower()
    assert next(r for r in nsec3 if r[0].startswith(owner))[9:] == []  # ENT: empty bitmap
    assert signed.report.denial == "NSEC3"


def test_ksk_signs_the_key_records_and_zsk_the_rest(ksk_zsk: list[DnssecKey]) -> None:
    ksk, zsk = ksk_zsk
    text = sign(TEXT, ksk_zsk).text
    validate_all(text, NOW)
    by_type: dict[str, set[str]] = {}
    for _, kind, tag in signed_rrsigs(text):
        by_type.setdefault(kind, set()).add(tag)
    for kind in ("DNSKEY", "CDS", "CDNSKEY"):
        assert by_type.pop(kind) == {str(ksk.tag)}
    assert set().union(*by_type.values()) == {str(zsk.tag)}
    assert [r[4] for r in records(text, "DNSKEY")] == ["257", "256"]
    assert [r[4] for r in records(text, "CDS")] == [str(ksk.tag)]  # CDS for the KSK only


def test_two_algorithms_each_sign_everything(csk: list[DnssecKey]) -> None:
    keys = [*csk, generate_key("shop.example", "ed25519", now=NOW - DAY)]
    signed = sign(TEXT, keys)
    validate_all(signed.text, NOW)
    assert signed.report.made == 2 * 32


def test_published_but_inactive_key_is_in_the_dnskey_set_but_does_not_sign(
    csk: list[DnssecKey],
) -> None:
    later = generate_key("shop.example", "ecdsap256sha256", ksk=False, now=NOW)
    later.timing["Activate"] = NOW + 30 * DAY
    text = sign(TEXT, [*csk, later]).text
    assert len(records(text, "DNSKEY")) == 2
    assert str(later.tag) not in {tag for _, _, tag in signed_rrsigs(text)}


def test_resigning_keeps_signatures_that_are_not_due(csk: list[DnssecKey]) -> None:
    first = sign(TEXT, csk)
    again = sign(first.text, csk, now=NOW + DAY)
    validate_all(again.text, NOW + DAY)
    before, after = signed_rrsigs(first.text), signed_rrsigs(again.text)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("shop.example.", "SOA", str(csk[0].tag))}  # the serial moved, only
    assert again.report.kept == 31 and again.report.made == 1 and again.report.dropped == 1
    assert again.report.new_serial == next_serial(first.report.new_serial, NOW + DAY)


def test_resigning_refreshes_signatures_that_are_due(csk: list[DnssecKey]) -> None:
    first = sign(TEXT, csk)
    later = NOW + 10 * DAY  # 14d validity - 10d = 4d left, under the 5d refresh
    again = sign(first.text, csk, now=later)
    validate_all(again.text, later)
    assert again.report.kept == 0 and again.report.made == 32
    assert again.report.earliest_expiration == later + 14 * DAY


def test_resigning_after_an_edit_signs_what_changed_and_mends_the_chain(
    csk: list[DnssecKey],
) -> None:
    first = sign(TEXT, csk).text
    edited = first.replace("192.0.2.53", "192.0.2.54")  # ns1's address
    edited = "\n".join(line for line in edited.splitlines() if not line.startswith("esc."))
    edited += "\nnew.shop.example. 3600 IN A 192.0.2.60\n"
    again = sign(edited, csk, now=NOW + 3600)
    validate_all(again.text, NOW + 3600)
    before, after = signed_rrsigs(first), signed_rrsigs(again.text)
    tag = str(csk[0].tag)
    resigned = {key[:2] for key in after if before.get(key) != after[key]}
    assert resigned == {
        ("shop.example.", "SOA"),
        ("ns1.shop.example.", "A"),  # changed data
        ("new.shop.example.", "A"),  # new name, its NSEC, and the NSEC before it
        ("new.shop.example.", "NSEC"),
        ("_25._tcp.mail.shop.example.", "NSEC"),
        ("a.b.deep.shop.example.", "NSEC"),  # a.b.deep -> esc is gone: a.b.deep -> mail now
    }, resigned
    assert ("esc.shop.example.", "TXT", tag) not in after  # removed data takes its RRSIG


def test_signatures_that_do_not_reproduce_are_verified_instead(csk: list[DnssecKey]) -> None:
    first = sign(TEXT, csk).text
    random_k = DnssecKey(csk[0].zone, csk[0].dnskey, csk[0].private, dict(csk[0].timing))
    random_k.__dict__["deterministic"] = False  # as for signatures BIND or ldns made
    again = sign(first, [random_k], now=NOW + DAY)
    assert again.report.kept == 31


def test_switching_from_nsec_to_nsec3_drops_the_nsec_chain(csk: list[DnssecKey]) -> None:
    first = sign(TEXT, csk).text
    again = sign(first, csk, nsec3=True, now=NOW + 60)
    validate_all(again.text, NOW + 60)
    assert records(again.text, "NSEC") == [] and records(again.text, "NSEC3")
    back = sign(again.text, csk, now=NOW + 120)
    assert records(back.text, "NSEC3") == [] and records(back.text, "NSEC3PARAM") == []


def test_self_check_refuses_bad_signatures(
    csk: list[DnssecKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DnssecKey, "sign", lambda self, data: bytes(64))
    with pytest.raises(SigningError, match="self-check failed, nothing written"):
        sign(TEXT, csk)


def test_self_check_refuses_a_private_key_that_is_not_the_dnskeys(csk: list[DnssecKey]) -> None:
    other = generate_key("shop.example")
    mismatched = DnssecKey(csk[0].zone, csk[0].dnskey, other.private, dict(csk[0].timing))
    with pytest.raises(SigningError, match=r"does not validate .*\.private"):
        sign(TEXT, [mismatched])


@pytest.mark.parametrize(
    ("edit", "located"),
    [
        (("ns1 IN A 192.0.2.53", "ns1 IN A 192.0.2.353"), "shop.zone:14: "),
        (("www IN CNAME @", "www IN CNAME @\nwww IN A 192.0.2.1"), "shop.zone:18: "),
        (("mail IN AAAA 2001:DB8::25", "mail IN AAA 2001:DB8::25"), "shop.zone:16: "),
        (("    IN MX 10 mail", '    IN TXT "unterminated'), "shop.zone:12: "),
    ],
)
def test_a_broken_zone_is_a_located_error(
    csk: list[DnssecKey], edit: tuple[str, str], located: str
) -> None:
    assert edit[0] in TEXT
    with pytest.raises(ZoneLoadError, match=re.escape(located)):
        sign(TEXT.replace(*edit), csk)


def test_zone_without_soa_is_refused(csk: list[DnssecKey]) -> None:
    with pytest.raises(ZoneLoadError, match="SOA"):
        sign("$ORIGIN shop.example.\n$TTL 300\nwww IN A 192.0.2.1\n", csk)


def test_option_and_key_mistakes_are_clear(csk: list[DnssecKey]) -> None:
    with pytest.raises(SigningError, match=r"--refresh \(5d\) must be shorter than --validity"):
        sign(TEXT, csk, validity=5 * DAY, refresh=5 * DAY)
    with pytest.raises(
        SigningError, match=re.escape("is a key for other.example., not shop.example.")
    ):
        sign(TEXT, [generate_key("other.example")])
    retired = generate_key("shop.example", now=NOW - 10 * DAY)
    retired.timing["Inactive"] = NOW - DAY
    with pytest.raises(SigningError, match="no active key"):
        sign(TEXT, [retired])


@pytest.mark.parametrize(
    ("serial", "today", "expected"),
    [
        (2026010101, "2026-11-28", 2026112800),  # date serial behind: today's first
        (2026112800, "2026-11-28", 2026112801),  # already today: count up
        (2026112899, "2026-11-28", 2026112900),  # RFC 1982 arithmetic, not a date any more
        (42, "2026-11-28", 43),  # a counter stays a counter
        (2**32 - 1, "2026-11-28", 0),  # serials wrap
    ],
)
def test_next_serial(serial: int, today: str, expected: int) -> None:
    moment = int(time.mktime(time.strptime(today + " 12", "%Y-%m-%d %H")))
    assert next_serial(serial, moment) == expected


def test_status_says_when_signatures_expire(csk: list[DnssecKey]) -> None:
    signed = sign(TEXT, csk, validity=10 * DAY, refresh=3 * DAY).text
    result = status(signed, now=NOW + DAY, refresh=3 * DAY)
    assert result.origin == "shop.example." and len(result.signatures) == 32
    assert result.earliest is not None and result.earliest.expiration == NOW + 10 * DAY
    assert result.refresh_due == NOW + 7 * DAY
    assert result.expired == () and result.unsigned == ()
    assert status(signed, now=NOW + 11 * DAY).expired
    assert status(signed, now=NOW - 2 * 3600).not_yet_valid  # inception is an hour back
    unsigned = status(TEXT, now=NOW)
    assert unsigned.signatures == () and "shop.example. SOA" in unsigned.unsigned
    assert "ns.sub.shop.example. A" not in unsigned.unsigned  # glue is never signed


NO_TTL = """shop.example. IN SOA ns1.shop.example. h.shop.example. 1 2 3 4 300
shop.example. IN NS ns1.shop.example.
ns1.shop.example. 60 IN A 192.0.2.1
www.shop.example. IN A 192.0.2.2
"""


@pytest.mark.parametrize("without_ttl", [False, True], ids=["zone", "no $TTL"])
def test_fast_reader_agrees_with_dnspython(without_ttl: bool) -> None:
    from mailward.setup._zonedata import from_dnspython, read_zone

    text = (
        NO_TTL
        if without_ttl
        else TEXT
        + (
            "$ORIGIN sub2.shop.example.\n"
            "relative 60 IN MX 0 .\n"
            "@ IN SRV 1 2 3 target\n"
            'quoted IN TXT plain words "and" "a;semi"\n'
            "$TTL 120\n"
            "other IN PTR x.example.\n"
            "ttlfirst IN 90 A 192.0.2.9\n"
        )
    )
    fast = read_zone(text, filename="t")
    slow = from_dnspython(load_zone(text, filename="t"), "t")
    assert fast.origin == slow.origin
    if without_ttl:  # no $TTL: the last TTL written is the default (RFC 2308 §4)
        assert fast.nodes[dns.name.from_text("www.shop.example.").labels][1].ttl == 60
    assert set(fast.nodes) == set(slow.nodes)
    for labels, node in slow.nodes.items():
        assert set(fast.nodes[labels]) == set(node)
        for rdtype, rrset in node.items():
            mine = fast.nodes[labels][rdtype]
            assert mine.ttl == rrset.ttl, (labels, rdtype)
            assert sorted(r.to_digestable() for r in mine.rdatas) == sorted(
                r.to_digestable() for r in rrset.rdatas
            )
            assert sorted(r.to_text() for r in mine.rdatas) == sorted(
                r.to_text() for r in rrset.rdatas
            )


def test_signed_zone_file_can_be_re_read_and_keys_from_disk_sign(tmp_path: Path) -> None:
    write_key(generate_key("shop.example", now=NOW - DAY), tmp_path)
    keys = load_keys(tmp_path, "shop.example")
    text = sign(TEXT, keys).text
    assert validate_all(text, NOW) == 32


_LABEL = st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9_-]{0,8}", fullmatch=True)
_NAME = st.lists(_LABEL, min_size=1, max_size=3).map(".".join)
_TARGET = st.one_of(_NAME, _NAME.map(lambda n: n + ".example."), st.just("@"))
_RDATA = st.one_of(
    st.tuples(st.just("A"), st.ip_addresses(v=4).map(str)),
    st.tuples(st.just("AAAA"), st.ip_addresses(v=6).map(str)),
    st.tuples(st.sampled_from(["NS", "PTR"]), _TARGET),
    st.tuples(st.just("MX"), st.tuples(st.integers(0, 65535), _TARGET).map("{0[0]} {0[1]}".format)),
    st.tuples(
        st.just("SRV"),
        st.tuples(st.integers(0, 65535), st.integers(0, 9), st.integers(0, 65535), _TARGET).map(
            lambda t: " ".join(map(str, t))
        ),
    ),
    st.tuples(
        st.just("TXT"),
        st.lists(
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
            min_size=1,
            max_size=3,
        ).map(
            lambda strings: " ".join(
                '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings
            )
        ),
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_NAME, st.one_of(st.none(), st.integers(0, 10**6)), _RDATA), max_size=12),
    st.sampled_from(["$TTL 300\n", "", "$TTL 1h\n"]),
)
def test_fast_reader_agrees_with_dnspython_on_generated_zones(
    lines: list[tuple[str, int | None, tuple[str, str]]], default: str
) -> None:
    from mailward.setup._zonedata import from_dnspython, read_zone

    head = f"$ORIGIN gen.example.\n{default}@ IN SOA ns hostmaster 1 2 3 4 5\n"
    text = head + "".join(
        f"{owner} {'' if ttl is None else ttl} IN {kind} {data}\n"
        for owner, ttl, (kind, data) in lines
    )
    try:
        slow = from_dnspython(load_zone(text, filename="t"), "t")
    except ZoneLoadError:  # a CNAME beside other data, …: the fast path must refuse too
        with pytest.raises(ZoneLoadError):
            read_zone(text, filename="t")
        return
    fast = read_zone(text, filename="t")
    assert set(fast.nodes) == set(slow.nodes)
    for labels, node in slow.nodes.items():
        for rdtype, rrset in node.items():
            mine = fast.nodes[labels][rdtype]
            assert mine.ttl == rrset.ttl
            # duplicates are kept until signing (which keeps one of each, RFC 2181 §5)
            assert {r.to_digestable() for r in mine.rdatas} == {
                r.to_digestable() for r in rrset.rdatas
            }
            assert {r.to_text() for r in mine.rdatas} == {r.to_text() for r in rrset.rdatas}
