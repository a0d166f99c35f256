"""records/spf.py: the SPF parser, every finding code with its fix, and the round trip."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailward.codes import Diagnostic, Severity
from mailward.records import spf
from mailward.records.spf import (
    InvalidTerm,
    MacroEscape,
    MacroExpand,
    MacroLiteral,
    MacroString,
    Mechanism,
    Modifier,
    Qualifier,
    SpfRecord,
    lookup_terms,
    parse,
    parse_macro_string,
)


def slugs(record: SpfRecord) -> list[str]:
    return [d.slug for d in record.diagnostics]


def only(record: SpfRecord, slug: str) -> Diagnostic:
    found = [d for d in record.diagnostics if d.slug == slug]
    assert len(found) == 1, [(d.slug, d.message) for d in record.diagnostics]
    return found[0]


CLEAN = [
    "v=spf1 mx a:mail.example.com ip4:192.0.2.1 -all",
    # RFC 7208 Appendix A.1 (those that need no finding)
    "v=spf1 a -all",
    "v=spf1 a:example.org -all",
    "v=spf1 mx -all",
    "v=spf1 mx:example.org -all",
    "v=spf1 mx mx:example.org -all",
    "v=spf1 mx/30 -all",
    "v=spf1 mx/30 mx:example.org/30 -all",
    "v=spf1 ip4:192.0.2.128/28 -all",
    # RFC 7208 Appendix A.2 / A.4 and §7.4 macro examples
    "v=spf1 mx include:example.net -all",
    "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
    "v=spf1 mx -all exp=explain._spf.%{d}",
    "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} ~all",
    "v=spf1 redirect=_spf.example.com",
    "v=spf1 ip6:2001:db8::/32 a//64 a/24//64 ip4:0.0.0.0/0 ~all",
    "v=spf1 mx ra=postmaster rp=10 -all",  # RFC 6652 modifiers: unknown, legal, kept
    "V=SPF1 MX -ALL",  # names are case-insensitive
    "v=spf1 mx -all   ",  # trailing spaces are allowed
    "v=spf1 a:mail.example.com. include:%{d}.%{S}.example.com -all",
    "v=spf1 exists:%%%_%-.%{d} ~all",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_records_have_no_findings(text: str) -> None:
    record = parse(text)
    assert slugs(record) == []
    assert not record.permerror
    assert not any(isinstance(term, InvalidTerm) for term in record.terms)


# (record, the corrected record in `fix`, or None where the intent is not obvious)
SYNTAX_ERRORS = [
    ("v=spf1 ip:192.0.2.1 -all", "v=spf1 ip4:192.0.2.1 -all"),
    ("v=spf1 ip:2001:db8::1 -all", "v=spf1 ip6:2001:db8::1 -all"),
    ("v=spf1 inlcude:_spf.example.net -all", "v=spf1 include:_spf.example.net -all"),
    ("v=spf1 mx -al", "v=spf1 mx -all"),
    ("v=spf1 mx -all,", "v=spf1 mx -all"),
    ("v=spf1 mx ipv4:192.0.2.1 -all", "v=spf1 mx ip4:192.0.2.1 -all"),
    ("v=spf2 mx -all", "v=spf1 mx -all"),
    ("v=spf2.0/pra mx -all", "v=spf1 mx -all"),
    ("spf1 mx -all", "v=spf1 mx -all"),
    ("v=spf1mx -all", "v=spf1 mx -all"),
    ("mx -all", "v=spf1 mx -all"),
    ("v=spf1 ip4:192.0.2.0/33 -all", None),
    ("v=spf1 ip6:2001:db8::/129 -all", None),
    ("v=spf1 a/24//129 -all", None),
    ("v=spf1 a/024 -all", None),
    ("v=spf1 mx/ -all", None),
    ("v=spf1 ip4:192.0.2.1//64 -all", None),
    ("v=spf1 exists:%{x}.example.com -all", None),
    ("v=spf1 exists:%a.example.com -all", None),
    ("v=spf1 exists:%{d0}.example.com -all", None),
    ("v=spf1 exists:%{d.example.com -all", None),
    ("v=spf1 exists:%{c}.example.com -all", None),  # c, r, t: explanation text only (§7.1)
    ("v=spf1 mx -all exp=%{r}.example.com", None),
    ("v=spf1 include: -all", None),
    ("v=spf1 exists: -all", None),
    ("v=spf1 include -all", None),
    ("v=spf1 a:example -all", None),  # a domain-spec ends in .toplabel or a macro
    ("v=spf1 a:example.123 -all", None),
    ("v=spf1 a:example..com -all", None),
    ("v=spf1 redirect=a.example.com redirect=b.example.com", None),
    ("v=spf1 mx exp=x.example.com exp=x.example.com -all", "v=spf1 mx exp=x.example.com -all"),
    ("v=spf1 redirect= ", None),
    ("v=spf1 ip4:mail.example.com -all", "v=spf1 a:mail.example.com -all"),
    ("v=spf1 ip4:192.0.2.300 -all", None),
    ("v=spf1 ip6:2001:db8::1%eth0 -all", None),
    ("v=spf1 ip6:192.0.2.1 -all", "v=spf1 ip4:192.0.2.1 -all"),
    ("v=spf1 a:192.0.2.1 -all", "v=spf1 ip4:192.0.2.1 -all"),
    ("v=spf1 ~mx:192.0.2.0/24 -all", "v=spf1 ~ip4:192.0.2.0/24 -all"),
    ("v=spf1 mx:2001:db8::1 -all", "v=spf1 ip6:2001:db8::1 -all"),
    ("v=spf1 ip4:192.0.2.01 -all", "v=spf1 ip4:192.0.2.1 -all"),
    ("v=spf1 include:bücher.example -all", "v=spf1 include:xn--bcher-kva.example -all"),
    ("v=spf1 mx –all", "v=spf1 mx -all"),  # an en dash from a word processor
    ("v=spf1\u00a0mx -all", "v=spf1 mx -all"),  # a no-break space
    ("v=spf1 mx\t-all", "v=spf1 mx -all"),
    (" v=spf1 mx -all", "v=spf1 mx -all"),
    ("v=spf1 include=_spf.example.net -all", "v=spf1 include:_spf.example.net -all"),
    ("v=spf1 redirect:_spf.example.net", "v=spf1 redirect=_spf.example.net"),
    ("v=spf1 -redirect=_spf.example.net", "v=spf1 redirect=_spf.example.net"),
    ("v=spf1 _spf.example.net -all", "v=spf1 include:_spf.example.net -all"),
    ("v=spf1 192.0.2.1 -all", "v=spf1 ip4:192.0.2.1 -all"),
    ("v=spf1 mx all:x -all", None),
]


@pytest.mark.parametrize(("text", "fix"), SYNTAX_ERRORS)
def test_syntax_errors(text: str, fix: str | None) -> None:
    record = parse(text)
    found = only(record, "spf.syntax")
    assert found.severity is Severity.ERROR
    assert record.permerror
    assert found.column is not None and 1 <= found.column <= len(text)
    assert found.fix == fix
    if fix is not None:  # the near miss: the corrected record is clean
        assert not parse(fix).permerror, slugs(parse(fix))


def test_syntax_error_messages_name_the_intent() -> None:
    assert "did you mean 'ip4'" in only(parse("v=spf1 ip:192.0.2.1 -all"), "spf.syntax").message
    assert "'include'" in only(parse("v=spf1 inlcude:x.example.com -all"), "spf.syntax").message
    message = only(parse("v=spf1 a:192.0.2.1 -all"), "spf.syntax").message
    assert "ip4:" in message
    assert only(parse("v=spf1 inlcude:x.example.com -all"), "spf.syntax").column == 8


def test_a_misspelt_modifier_is_a_warning_not_a_permerror() -> None:
    record = parse("v=spf1 mx expl=explain.example.com -all")
    found = only(record, "spf.syntax")
    assert found.severity is Severity.WARNING
    assert not record.permerror
    assert found.fix == "v=spf1 mx exp=explain.example.com -all"
    assert record.terms[1] == Modifier("expl", MacroString((MacroLiteral("explain.example.com"),)))


def test_joined_records_are_flagged_without_a_permerror() -> None:
    record = parse("v=spf1 mx v=spf1 a -all")
    assert only(record, "spf.syntax").severity is Severity.WARNING
    assert not record.permerror


def test_a_foreign_version_gets_no_spf_policy_findings() -> None:
    record = parse("v=DMARC1; p=reject")
    assert slugs(record) == ["spf.syntax"]
    assert record.diagnostics[0].fix is None


# (code, record that triggers it, its corrected record or None, a near miss that must not)
CHECKS = [
    ("spf.ptr-mechanism", "v=spf1 ptr -all", None, "v=spf1 mx -all"),
    ("spf.ptr-mechanism", "v=spf1 ptr:example.com -all", None, "v=spf1 a:ptr.example.com -all"),
    ("spf.pass-all", "v=spf1 +all", "v=spf1 ~all", "v=spf1 -all"),
    ("spf.pass-all", "v=spf1 mx all", "v=spf1 mx ~all", "v=spf1 mx ~all"),
    ("spf.neutral-all", "v=spf1 mx ?all", "v=spf1 mx ~all", "v=spf1 ?include:x.example.com -all"),
    ("spf.no-all", "v=spf1 mx", "v=spf1 mx ~all", "v=spf1 redirect=_spf.example.com"),
    ("spf.no-all", "v=spf1", "v=spf1 ~all", "v=spf1 mx -al"),  # -al is the all, misspelt
    ("spf.after-all", "v=spf1 -all mx", "v=spf1 mx -all", "v=spf1 mx -all exp=x.example.com"),
    ("spf.after-all", "v=spf1 -all mx ~all", None, "v=spf1 mx -all"),
    ("spf.redirect-with-all", "v=spf1 mx redirect=x.example.com ~all", "v=spf1 mx ~all",
     "v=spf1 mx redirect=x.example.com"),
]  # fmt: skip


@pytest.mark.parametrize(("slug", "text", "fix", "near_miss"), CHECKS)
def test_record_checks(slug: str, text: str, fix: str | None, near_miss: str) -> None:
    found = only(parse(text), slug)
    assert found.fix == fix
    assert found.severity is spf.SYNTAX.severity if slug == "spf.syntax" else found.code.severity
    if fix is not None:
        assert slug not in slugs(parse(fix))
    assert slug not in slugs(parse(near_miss))


def test_rfc7208_appendix_records_with_findings() -> None:
    assert slugs(parse("v=spf1 +all")) == ["spf.pass-all"]
    assert slugs(parse("v=spf1 ptr -all")) == ["spf.ptr-mechanism"]
    # A.4: the records the macro example includes
    assert slugs(parse("v=spf1 -ip4:192.0.2.0/24 +all")) == ["spf.pass-all"]
    assert slugs(parse("v=spf1 -ptr +all")) == ["spf.ptr-mechanism", "spf.pass-all"]


def test_terms_are_typed() -> None:
    record = parse("v=spf1 +mx ~a:%{d}.example.com/24//64 ip6:2001:DB8::1/64 ?ip4:192.0.2.1 "
                   "exists:%{ir}.x.example.com redirect=_spf.example.com x-y=%%")  # fmt: skip
    mx, a, ip6, ip4, exists, redirect, unknown = record.terms
    assert mx == Mechanism(Qualifier.PASS, "mx")
    assert a == Mechanism(
        Qualifier.SOFTFAIL, "a",
        MacroString((MacroExpand("d"), MacroLiteral(".example.com"))), cidr4=24, cidr6=64,
    )  # fmt: skip
    assert ip6 == Mechanism(Qualifier.PASS, "ip6", address=ipaddress.ip_address("2001:db8::1"),
                            cidr6=64)  # fmt: skip
    assert isinstance(ip6, Mechanism) and isinstance(ip4, Mechanism)
    assert ip6.network == ipaddress.ip_network("2001:db8::/64")
    assert ip4.network == ipaddress.ip_network("192.0.2.1/32")
    assert ip4.qualifier is Qualifier.NEUTRAL
    assert isinstance(exists, Mechanism) and exists.domain_spec is not None
    assert exists.domain_spec.parts[0] == MacroExpand("i", reverse=True)
    assert redirect == Modifier("redirect", MacroString((MacroLiteral("_spf.example.com"),)))
    assert unknown == Modifier("x-y", MacroString((MacroEscape("%"),)))
    assert [t.column for t in record.terms] == [8, 12, 39, 58, 73, 100, 126]
    assert record.modifier("redirect") is redirect
    assert record.all_mechanism is None


def test_network_keeps_a_zero_prefix() -> None:
    ip4, ip6, host = parse("v=spf1 ip4:192.0.2.1/0 ip6:2001:db8::1/0 ip4:192.0.2.9/24").terms
    assert isinstance(ip4, Mechanism) and isinstance(ip6, Mechanism)
    assert isinstance(host, Mechanism)
    assert ip4.network == ipaddress.ip_network("0.0.0.0/0")
    assert ip6.network == ipaddress.ip_network("::/0")
    assert host.network == ipaddress.ip_network("192.0.2.0/24")
    assert host.to_text() == "ip4:192.0.2.9/24"  # the address is kept as written


def test_macro_strings() -> None:
    parsed = parse_macro_string("%{ir}.%{l1r+-}._spf.%{D}")
    assert parsed == MacroString((
        MacroExpand("i", reverse=True), MacroLiteral("."),
        MacroExpand("l", 1, True, "+-"), MacroLiteral("._spf."), MacroExpand("D"),
    ))  # fmt: skip
    assert parsed.has_macros and parsed.to_text() == "%{ir}.%{l1r+-}._spf.%{D}"
    escapes = parse_macro_string("a%%b%_c%-")
    assert escapes is not None
    assert [p.expansion for p in escapes.parts if isinstance(p, MacroEscape)] == ["%", " ", "%20"]
    assert not escapes.has_macros
    # explanation text allows spaces and c/r/t; a domain-spec does not
    assert parse_macro_string("%{i} is not one of %{d}'s servers (%{c} at %{t})") is None
    explained = parse_macro_string("%{c} is not allowed at %{t}", explanation=True)
    assert explained is not None and explained.parts[0] == MacroExpand("c")
    for bad in ("%", "%x", "%{", "%{z}", "%{d0}", "%{d1234567890}", "a\x00b"):
        assert parse_macro_string(bad, explanation=True) is None, bad


def test_lookup_terms_follow_rfc7208_4_6_4() -> None:
    record = parse(
        "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a mx ptr include:x.example.com "
        "exists:%{i}.x.example.com exp=e.example.com redirect=r.example.com"
    )
    assert [t.to_text() for t in lookup_terms(record)] == [
        "a", "mx", "ptr", "include:x.example.com", "exists:%{i}.x.example.com",
        "redirect=r.example.com",
    ]  # fmt: skip
    # nothing after all is reached, and all makes redirect ignored
    after = parse("v=spf1 mx -all include:x.example.com redirect=r.example.com")
    assert [t.to_text() for t in lookup_terms(after)] == ["mx"]
    assert lookup_terms(parse("v=spf1 ip4:192.0.2.1 -all")) == ()


def test_to_text_is_canonical() -> None:
    assert parse("V=SPF1 +MX ~All").to_text() == "v=spf1 mx ~all"
    assert parse("v=spf1   ip6:2001:DB8:0:0::1   -all").to_text() == "v=spf1 ip6:2001:db8::1 -all"
    assert parse("v=spf1 Redirect=x.example.com").to_text() == "v=spf1 redirect=x.example.com"
    # an invalid term is kept verbatim, never dropped
    record = parse("v=spf1 mx inlcude:x.example.com -all")
    assert record.terms[1] == InvalidTerm("inlcude:x.example.com")
    assert record.to_text() == "v=spf1 mx inlcude:x.example.com -all"


def test_oversized_input_is_reported_and_cut() -> None:
    record = parse("v=spf1 " + "a " * 40_000)
    assert record.diagnostics[-1].column == spf.MAX_TEXT + 1
    assert "characters" in record.diagnostics[-1].message
    assert record.permerror


# --- property tests -------------------------------------------------------------------------

LETTERS = "slodiphvSLODIPHV"
macro = st.builds(
    MacroExpand,
    st.sampled_from(LETTERS),
    st.none() | st.integers(1, 200),
    st.booleans(),
    st.text(alphabet=".-+,/_=", max_size=3),
)
literal = st.from_regex(r"[a-z0-9_][a-z0-9_-]{0,7}(\.[a-z0-9-]{1,8}){0,2}", fullmatch=True)
ending = st.one_of(macro, st.sampled_from([".com", ".example", ".xn--p1ai", ".co-op"]))


def _spec(parts: list[MacroExpand | MacroEscape | str], end: MacroExpand | str) -> MacroString:
    out: list[spf.MacroPart] = []
    for part in [*parts, end]:
        if isinstance(part, str):
            if out and isinstance(last := out[-1], MacroLiteral):
                part = last.text + part
                out.pop()
            out.append(MacroLiteral(part))
        else:
            out.append(part)
    return MacroString(tuple(out))


domain_specs = st.builds(
    _spec,
    st.lists(st.one_of(macro, st.sampled_from([MacroEscape("-"), MacroEscape("_")]), literal),
             min_size=1, max_size=4),
    ending,
)  # fmt: skip
qualifiers = st.sampled_from(Qualifier)
cidr4, cidr6 = st.none() | st.integers(0, 32), st.none() | st.integers(0, 128)
mechanisms = st.one_of(
    st.builds(Mechanism, qualifiers, st.just("all")),
    st.builds(Mechanism, qualifiers, st.sampled_from(["include", "exists"]), domain_specs),
    st.builds(Mechanism, qualifiers, st.just("ptr"), st.none() | domain_specs),
    st.builds(lambda q, n, d, c4, c6: Mechanism(q, n, d, None, c4, c6),
              qualifiers, st.sampled_from(["a", "mx"]), st.none() | domain_specs, cidr4, cidr6),
    st.builds(lambda q, a, c: Mechanism(q, "ip4", address=a, cidr4=c),
              qualifiers, st.ip_addresses(v=4), cidr4),
    st.builds(lambda q, a, c: Mechanism(q, "ip6", address=a, cidr6=c),
              qualifiers, st.ip_addresses(v=6), cidr6),
)  # fmt: skip
unknown_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_.-]{0,8}", fullmatch=True).filter(
    lambda name: name.lower() not in spf.MECHANISMS + spf.MODIFIERS
)
macro_strings = st.builds(_spec, st.lists(st.one_of(macro, literal), max_size=3), ending)


@st.composite
def records(draw: st.DrawFn) -> SpfRecord:
    terms: list[spf.Term] = draw(st.lists(mechanisms, max_size=8))
    for name in ("redirect", "exp"):
        if draw(st.booleans()):
            terms.insert(draw(st.integers(0, len(terms))), Modifier(name, draw(domain_specs)))
    for _ in range(draw(st.integers(0, 2))):
        unknown = Modifier(draw(unknown_names), draw(macro_strings))
        terms.insert(draw(st.integers(0, len(terms))), unknown)
    return SpfRecord("v=spf1", tuple(terms))


@given(records())
def test_round_trip(record: SpfRecord) -> None:
    parsed = parse(record.to_text())
    assert parsed == record, [d.message for d in parsed.diagnostics]
    assert not parsed.permerror


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    record = parse(text)
    record.to_text()
    lookup_terms(record)


PIECES = ["v=spf1", "v=spf2", "-all", "+all", "?all", "~all", "all", "mx", "a", "ptr", "ip4:",
          "ip6:", "include:", "exists:", "redirect=", "exp=", "%{d}", "%{ir}", "%", "%%", "%{",
          "}", "/", "//", "/24", "//64", ":", "=", ".", "example.com", "192.0.2.1", "::1",
          "2001:db8::", "é", "–", "\t", " ", "  "]  # fmt: skip
soup = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=12)


@given(soup, st.lists(st.sampled_from(["", " "]), max_size=12))
def test_term_soup(pieces: list[str], joins: list[str]) -> None:
    text = "".join(piece + (joins[i] if i < len(joins) else " ") for i, piece in enumerate(pieces))
    record = parse(text)
    for diagnostic in record.diagnostics:
        if diagnostic.fix is not None:
            parse(diagnostic.fix)
    if not record.permerror and record.version:  # what is valid reads back the same
        assert parse(record.to_text()) == record
