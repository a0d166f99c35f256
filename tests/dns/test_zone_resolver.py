"""ZoneResolver: zone files answered as their authoritative server would (RFC 1034 §4.3.2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailward.dns.resolver import Answer, Resolver
from mailward.dns.zonefiles import ZoneResolver, load_zone
from mailward.errors import NoAnswer, NXDomain, TempError, UsageError, ZoneLoadError

SIG = "20300101000000 20200101000000 12345 example.com. dGVzdHNpZ25hdHVyZQ=="

EXAMPLE = f"""$ORIGIN example.com.
$TTL 300
@           SOA   ns1 hostmaster 1 3600 900 604800 60
@           NS    ns1
ns1         A     192.0.2.1
www         A     192.0.2.10
www         A     192.0.2.11
www         RRSIG A 13 3 300 {SIG}
www         TXT   "first" "second"
alias       CNAME www
alias       RRSIG CNAME 13 3 300 {SIG}
chain       60 CNAME alias
loop1       CNAME loop2
loop2       CNAME loop1
dangling    CNAME nowhere.host1
away        CNAME www.other.example.
elsewhere   CNAME www.not-loaded.example.
leaf.b.ent  A     192.0.2.20
*           TXT   "apex wildcard"
host1       A     192.0.2.30
*.wild      MX    10 mx.example.com.
*.wild      RRSIG MX 13 3 300 {SIG}
exists.wild A     192.0.2.40
a.ent.wild  A     192.0.2.41
*.cn        CNAME www
child       NS    ns.child
ns.child    A     192.0.2.53
child       DS    12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118ECA4C7A6A3A0D0FB19A57A61
loaded      NS    ns1.loaded
dn          DNAME example.net.
"""

OTHER = """$ORIGIN other.example.
@    300 SOA ns hostmaster 1 3600 900 604800 30
www  120 A   198.51.100.7
back 120 CNAME www.example.com.
"""

LOADED = """loaded.example.com. 300 IN SOA ns1.loaded.example.com. h.example.com. 1 2 3 4 5
loaded.example.com. 300 IN NS ns1.loaded.example.com.
ns1.loaded.example.com. 300 IN A 192.0.2.99
www.loaded.example.com. 300 IN A 192.0.2.98
"""


@pytest.fixture
def zones() -> ZoneResolver:
    return ZoneResolver.from_text(EXAMPLE, OTHER, LOADED)


def texts(answer: Answer) -> set[str]:
    return {record.to_text() for record in answer.records}


async def test_is_a_resolver(zones: ZoneResolver) -> None:
    resolver: Resolver = zones
    answer = await resolver.query("www.example.com", "A")
    assert answer == Answer(
        qname="www.example.com.",
        rdtype="A",
        name="www.example.com.",
        records=answer.records,
        ttl=300,
    )
    assert texts(answer) == {"192.0.2.10", "192.0.2.11"}


async def test_names_are_case_blind_and_answers_lower_case(zones: ZoneResolver) -> None:
    answer = await zones.query("WWW.Example.COM.", "txt")
    assert (answer.qname, answer.name, answer.rdtype) == ("www.example.com.",) * 2 + ("TXT",)
    assert answer.texts() == [b"firstsecond"]


async def test_nxdomain_and_nodata(zones: ZoneResolver) -> None:
    with pytest.raises(NXDomain, match="no such name"):
        await zones.query("nope.host1.example.com", "A")
    with pytest.raises(NoAnswer, match="no such record"):
        await zones.query("www.example.com", "MX")


async def test_empty_non_terminals_exist(zones: ZoneResolver) -> None:
    """RFC 8020: b.ent and ent own nothing but have a name below them: NODATA."""
    for name in ("b.ent.example.com", "ent.example.com"):
        with pytest.raises(NoAnswer):
            await zones.query(name, "A")
    with pytest.raises(NXDomain):
        await zones.query("other.b.ent.example.com", "A")


async def test_cname_chain_within_the_zone(zones: ZoneResolver) -> None:
    answer = await zones.query("chain.example.com", "A")
    assert answer.name == "www.example.com."
    assert [(c.name.to_text(), c[0].target.to_text()) for c in answer.cnames] == [
        ("chain.example.com.", "alias.example.com."),
        ("alias.example.com.", "www.example.com."),
    ]
    assert answer.ttl == 60  # the smallest TTL on the way
    cname = await zones.query("chain.example.com", "CNAME")
    assert texts(cname) == {"alias.example.com."} and cname.cnames == ()


async def test_cname_chain_across_zones(zones: ZoneResolver) -> None:
    answer = await zones.query("back.other.example", "A")
    assert answer.name == "www.example.com." and len(answer.cnames) == 1
    assert (await zones.query("away.example.com", "A")).ttl == 120


async def test_cname_chain_ends(zones: ZoneResolver) -> None:
    with pytest.raises(NXDomain, match=re.escape("CNAME chain ends at nowhere.host1.example.com.")):
        await zones.query("dangling.example.com", "A")
    with pytest.raises(NoAnswer, match=re.escape("CNAME chain ends at www.example.com.")):
        await zones.query("alias.example.com", "MX")
    with pytest.raises(TempError, match=re.escape("no zone file covers www.not-loaded.example.")):
        await zones.query("elsewhere.example.com", "A")


async def test_cname_loop_is_a_temperror(zones: ZoneResolver) -> None:
    with pytest.raises(TempError, match="CNAME loop"):
        await zones.query("loop1.example.com", "A")


async def test_wildcard_synthesis(zones: ZoneResolver) -> None:
    """RFC 4592 §3.3.1: the answer is owned by the query name; any number of labels match."""
    for name in ("anything.wild.example.com", "a.b.c.wild.example.com"):
        answer = await zones.query(name, "MX")
        assert answer.name == name + "."
        assert {rrset.name.to_text() for rrset in answer.cnames} == set()
        assert texts(answer) == {"10 mx.example.com."}
    with pytest.raises(NoAnswer):  # the wildcard node has no A: NODATA, not NXDOMAIN
        await zones.query("anything.wild.example.com", "A")
    literal = await zones.query("*.wild.example.com", "MX")
    assert literal.name == "*.wild.example.com."


async def test_wildcard_does_not_match_a_name_that_exists(zones: ZoneResolver) -> None:
    with pytest.raises(NoAnswer):
        await zones.query("exists.wild.example.com", "MX")
    with pytest.raises(NoAnswer):  # host1 exists, so "*" at the apex is not used for it
        await zones.query("host1.example.com", "TXT")
    assert (await zones.query("unrelated.example.com", "TXT")).texts() == [b"apex wildcard"]


async def test_no_wildcard_below_the_closest_encloser(zones: ZoneResolver) -> None:
    """RFC 4592 §2.2.1: host3.host1 has closest encloser host1, which has no '*' child, so the
    apex wildcard does not apply; the same across the empty non-terminal ent.wild."""
    with pytest.raises(NXDomain):
        await zones.query("host3.host1.example.com", "TXT")
    with pytest.raises(NXDomain):
        await zones.query("x.ent.wild.example.com", "MX")
    with pytest.raises(NXDomain):
        await zones.query("sub.exists.wild.example.com", "MX")


async def test_wildcard_cname(zones: ZoneResolver) -> None:
    answer = await zones.query("foo.cn.example.com", "A")
    assert [c.name.to_text() for c in answer.cnames] == ["foo.cn.example.com."]
    assert answer.name == "www.example.com."


async def test_delegation_to_a_zone_not_loaded(zones: ZoneResolver) -> None:
    for name, rdtype in [
        ("child.example.com", "A"),
        ("child.example.com", "NS"),
        ("www.child.example.com", "A"),
        ("ns.child.example.com", "A"),  # glue is not an answer (RFC 1034 §4.3.2 step 3b)
        ("deep.below.child.example.com", "TXT"),
    ]:
        with pytest.raises(TempError, match=r"delegated to child\.example\.com\. \(not loaded"):
            await zones.query(name, rdtype)


async def test_ds_lives_on_the_parent_side(zones: ZoneResolver) -> None:
    answer = await zones.query("child.example.com", "DS")
    assert answer.name == "child.example.com." and len(answer.records) == 1
    with pytest.raises(NoAnswer, match=re.escape("zone example.com.")):  # the parent, not the child
        await zones.query("loaded.example.com", "DS")


async def test_closest_loaded_zone_wins(zones: ZoneResolver) -> None:
    assert texts(await zones.query("www.loaded.example.com", "A")) == {"192.0.2.98"}
    assert texts(await zones.query("loaded.example.com", "NS")) == {"ns1.loaded.example.com."}
    with pytest.raises(NXDomain, match=re.escape("zone loaded.example.com.")):
        await zones.query("nope.loaded.example.com", "A")


async def test_outside_every_zone(zones: ZoneResolver) -> None:
    with pytest.raises(TempError, match=r"no zone file covers example\.org\."):
        await zones.query("example.org", "A")
    with pytest.raises(TempError, match="no zone file covers"):
        await ZoneResolver().query("example.com", "A")


async def test_dname_is_refused_not_guessed(zones: ZoneResolver) -> None:
    with pytest.raises(TempError, match="DNAME"):
        await zones.query("www.dn.example.com", "A")


async def test_rrsigs_with_dnssec(zones: ZoneResolver) -> None:
    assert (await zones.query("www.example.com", "A")).rrsigs == ()
    answer = await zones.query("alias.example.com", "A", dnssec=True)
    assert [(s.name.to_text(), s.covers) for s in answer.rrsigs] == [
        ("alias.example.com.", 5),  # CNAME
        ("www.example.com.", 1),  # A
    ]
    assert answer.authenticated is False
    synthesized = await zones.query("x.wild.example.com", "MX", dnssec=True)
    assert [s.name.to_text() for s in synthesized.rrsigs] == ["x.wild.example.com."]


async def test_bad_questions(zones: ZoneResolver) -> None:
    with pytest.raises(NXDomain, match="not a valid domain name"):
        await zones.query("a" * 64 + ".example.com", "A")
    with pytest.raises(NXDomain, match="not a valid domain name"):
        await zones.query("a..example.com", "A")
    with pytest.raises(UsageError, match="unknown DNS record type"):
        await zones.query("www.example.com", "NOTATYPE")


# -- loading ---------------------------------------------------------------------------------


def test_origin_from_the_soa_owner_or_given() -> None:
    assert str(load_zone(LOADED).origin) == "loaded.example.com."
    relative = "@ 300 IN SOA ns h 1 2 3 4 5\nwww 300 IN A 192.0.2.1\n"
    zone = load_zone(relative, origin="given.example")
    assert str(zone.origin) == "given.example."
    with pytest.raises(ZoneLoadError, match="origin is unknown"):
        load_zone(relative)
    with pytest.raises(ZoneLoadError, match="label"):
        load_zone(relative, origin="bad..origin")


def test_origin_from_files(tmp_path: Path) -> None:
    plain = tmp_path / "relative.zone"
    plain.write_text("@ 300 IN SOA ns h 1 2 3 4 5\nwww 300 IN A 192.0.2.1\n")
    with pytest.raises(ZoneLoadError, match=f"{plain}: the origin is unknown"):
        ZoneResolver([plain])
    assert ZoneResolver([(plain, "given.example.")]).origins == ["given.example."]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("www 300 IN A 999.1.1.1\n", ":3:", "malformed"),
        ("www 300 IN A 192.0.2.1\n\n\nx 300 IN A 1.2.3\n\n", ":6:", "malformed"),
        ('www 300 IN TXT "unterminated\n', ":3:", "quoted string"),
        ("www 300 IN NOTATYPE 1\n", ":3:", "NOTATYPE"),
        ("www 300 IN A 192.0.2.1\nwww 300 IN CNAME x\n", ":4:", "CNAME and other data"),
        ("www 300 IN MX (\n 10\n bad..name )\n", ":5:", "label is empty"),
        ("$INCLUDE /etc/hostname\n", ":3:", r"\$INCLUDE"),
    ],
)
def test_load_errors_name_file_and_line(tmp_path: Path, text: str, where: str, what: str) -> None:
    path = tmp_path / "bad.zone"
    path.write_text("$ORIGIN example.com.\n@ 300 IN SOA ns h 1 2 3 4 5\n" + text)
    if "INCLUDE" in text:
        with pytest.raises(ZoneLoadError, match=what):
            ZoneResolver.from_text(path.read_text())
        return
    with pytest.raises(ZoneLoadError, match=f"{path}{where}.*{what}"):
        ZoneResolver([path])


def test_a_zone_needs_an_soa_and_one_file(tmp_path: Path) -> None:
    with pytest.raises(ZoneLoadError, match="no SOA"):
        ZoneResolver.from_text("$ORIGIN example.com.\nwww 300 IN A 192.0.2.1\n")
    with pytest.raises(ZoneLoadError, match="already loaded"):
        ZoneResolver.from_text(EXAMPLE, EXAMPLE)
    with pytest.raises(ZoneLoadError, match="cannot read"):
        ZoneResolver([tmp_path / "missing.zone"])


def test_the_test_hierarchy_loads() -> None:
    zones = sorted((Path(__file__).parent / "zones").glob("*.zone"))
    assert ZoneResolver(zones).origins == [
        "2.0.192.in-addr.arpa.",
        "mail.test.",
        "shop.test.",
        "test.",
    ]
