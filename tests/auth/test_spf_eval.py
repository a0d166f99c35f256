"""The SPF evaluator beyond the RFC 7208 suite: limits, temperror in includes, evidence,
the sans-I/O machine, HELO and IPv6, over the offline zone-file resolver."""

from __future__ import annotations

import asyncio

import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.auth.spf import (
    Query,
    Result,
    check_helo,
    check_host,
    check_mail_from,
    evaluate,
)
from mailward.dns.resolver import Answer
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import DNSError, NXDomain, TempError

ZONE = """
$ORIGIN example.com.
$TTL 300
@        SOA ns hostmaster 1 3600 600 86400 300
         NS  ns
ns       A   192.0.2.53
@        TXT "v=spf1 mx include:_spf.example.com ip6:2001:db8:1::/48 -all"
@        MX  10 mail
mail     A   192.0.2.25
mail     AAAA 2001:db8:2::25
_spf     TXT "v=spf1 ip4:198.51.100.0/24 ~all"
soft     TXT "v=spf1 include:_spf.example.com ?all"
outside  TXT "v=spf1 include:elsewhere.example.net -all"
nospf    TXT "v=spf1 include:plain.example.com -all"
plain    TXT "just text"
two      TXT "v=spf1 -all"
two      TXT "v=spf1 +all"
redir    TXT "v=spf1 redirect=_spf.example.com"
explain  TXT "v=spf1 -all exp=why.example.com"
why      TXT "%{i} may not send for %{d} (HELO %{h})"
helo     TXT "v=spf1 a -all"
helo     A   192.0.2.9
ptr      TXT "v=spf1 ptr:example.com -all"
host9    A   192.0.2.9
voids    TXT "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com ip4:192.0.2.1 -all"
macro    TXT "v=spf1 exists:%{ir}.%{l1r-}.users.example.com -all"
1.2.0.192.alice.users A 127.0.0.2
deep0    TXT "v=spf1 include:deep1.example.com -all"
deep1    TXT "v=spf1 include:deep2.example.com -all"
deep2    TXT "v=spf1 include:deep3.example.com -all"
deep3    TXT "v=spf1 include:deep4.example.com -all"
deep4    TXT "v=spf1 include:deep5.example.com -all"
deep5    TXT "v=spf1 include:deep6.example.com -all"
deep6    TXT "v=spf1 include:deep7.example.com -all"
deep7    TXT "v=spf1 include:deep8.example.com -all"
deep8    TXT "v=spf1 include:deep9.example.com -all"
deep9    TXT "v=spf1 include:deep10.example.com -all"
deep10   TXT "v=spf1 a:host9.example.com -all"
loop     TXT "v=spf1 include:loop.example.com -all"
manymx   TXT "v=spf1 mx -all"
manymx   MX  1 m1
manymx   MX  2 m2
manymx   MX  3 m3
manymx   MX  4 m4
manymx   MX  5 m5
manymx   MX  6 m6
manymx   MX  7 m7
manymx   MX  8 m8
manymx   MX  9 m9
manymx   MX  10 m10
manymx   MX  11 mail
"""
REVERSE = """
$ORIGIN 2.0.192.in-addr.arpa.
@        SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
         NS  ns.example.com.
9        PTR host9.example.com.
"""


def zone() -> ZoneResolver:
    return ZoneResolver.from_text(ZONE, REVERSE)


async def run(ip: str, domain: str, sender: str = "", helo: str = "mx.example.org") -> Result:
    return (await check_host(ip, domain, sender or f"x@{domain}", helo, zone())).result


async def test_results_and_evidence() -> None:
    got = await check_host("192.0.2.25", "example.com", "a@example.com", "h.example", zone())
    assert got.result is Result.PASS
    assert (got.mechanism, got.record, got.trail) == ("mx", "example.com", ("example.com: mx",))
    assert "MX host mail.example.com" in got.reason
    got = await check_host("198.51.100.7", "example.com", "a@example.com", "h.example", zone())
    assert got.result is Result.PASS and got.mechanism == "include:_spf.example.com"
    assert got.trail == (
        "example.com: include:_spf.example.com",
        "_spf.example.com: ip4:198.51.100.0/24",
    )
    assert got.lookups == 2 and got.queries >= 4
    got = await check_host("203.0.113.1", "example.com", "a@example.com", "h.example", zone())
    assert (got.result, got.mechanism, got.explanation) == (Result.FAIL, "-all", None)
    assert await run("203.0.113.1", "soft.example.com") is Result.NEUTRAL
    assert await run("203.0.113.1", "redir.example.com") is Result.SOFTFAIL
    assert await run("203.0.113.1", "plain.example.com") is Result.NONE
    assert await run("203.0.113.1", "nowhere.example.com") is Result.NONE
    assert await run("203.0.113.1", "two.example.com") is Result.PERMERROR
    assert await run("203.0.113.1", "nospf.example.com") is Result.PERMERROR
    assert await run("203.0.113.1", "not a domain") is Result.NONE


async def test_ipv6_and_mapped_ipv4() -> None:
    assert await run("2001:db8:1::77", "example.com") is Result.PASS
    assert await run("2001:db8:2::25", "example.com") is Result.PASS  # mx, AAAA
    assert await run("2001:db8:3::25", "example.com") is Result.FAIL
    assert await run("::ffff:192.0.2.25", "example.com") is Result.PASS


async def test_temperror_inside_include_stays_temperror() -> None:
    # elsewhere.example.net is outside every loaded zone: NotLoaded, a TempError (§5.2)
    got = await check_host("192.0.2.1", "outside.example.com", "a@outside.example.com", "h", zone())
    assert got.result is Result.TEMPERROR
    assert got.mechanism == "include:elsewhere.example.net"
    assert got.trail == ("outside.example.com: include:elsewhere.example.net",)
    assert got.record == "outside.example.com"  # the record holding the include


async def test_errors_are_blamed_on_the_term_that_led_there() -> None:
    zone_text = (
        ZONE
        + 'broken TXT "v=spf1 ip4:192.0.2.300 -all"\n'
        + 'user   TXT "v=spf1 -ip4:192.0.2.0/28 include:broken.example.com"\n'
    )
    resolver = ZoneResolver.from_text(zone_text, REVERSE)
    got = await check_host("192.0.2.99", "user.example.com", "a@user.example.com", "h", resolver)
    assert got.result is Result.PERMERROR and "syntax error" in got.reason
    assert (got.mechanism, got.record) == ("include:broken.example.com", "user.example.com")
    got = await check_host("192.0.2.1", "user.example.com", "a@user.example.com", "h", resolver)
    assert (got.result, got.mechanism, got.reason) == (
        Result.FAIL,
        "-ip4:192.0.2.0/28",
        "192.0.2.1 is in 192.0.2.0/28",
    )


class Timeouts:
    """A resolver over the zone whose answers for one name time out."""

    def __init__(self, name: str) -> None:
        self.inner, self.name = zone(), name

    async def aclose(self) -> None:
        """Nothing to release."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        if name.rstrip(".").lower() == self.name:
            raise TempError(name, rdtype, "timeout")
        return await self.inner.query(name, rdtype, dnssec=dnssec)


async def test_timeouts_give_temperror() -> None:
    sender = "a@example.com"
    got = await check_host("203.0.113.1", "example.com", sender, "h", Timeouts("_spf.example.com"))
    assert got.result is Result.TEMPERROR and "timeout" in got.reason
    got = await check_host("203.0.113.1", "example.com", sender, "h", Timeouts("mail.example.com"))
    assert got.result is Result.TEMPERROR and got.mechanism == "mx"
    got = await check_host("203.0.113.1", "example.com", sender, "h", Timeouts("example.com"))
    assert got.result is Result.TEMPERROR


async def test_lookup_limits() -> None:
    # deep0 -> deep10: 10 includes and one a: 11 terms that query DNS
    got = await check_host("192.0.2.9", "deep0.example.com", "a@deep0.example.com", "h", zone())
    assert got.result is Result.PERMERROR and got.lookups == 11
    assert "more than 10" in got.reason and got.mechanism == "a:host9.example.com"
    assert len(got.trail) == 11
    got = await check_host("192.0.2.9", "deep1.example.com", "a@deep1.example.com", "h", zone())
    assert got.result is Result.PASS and got.lookups == 10
    assert await run("192.0.2.9", "loop.example.com") is Result.PERMERROR
    got = await check_host("192.0.2.1", "voids.example.com", "a@voids.example.com", "h", zone())
    assert got.result is Result.PERMERROR and got.voids == 3 and "void" in got.reason
    got = await check_host("192.0.2.25", "manymx.example.com", "a@manymx.example.com", "h", zone())
    assert got.result is Result.PERMERROR and "11 MX names" in got.reason


async def test_ptr_macros_exp_and_helo() -> None:
    assert await run("192.0.2.9", "ptr.example.com") is Result.PASS
    assert await run("192.0.2.10", "ptr.example.com") is Result.FAIL
    assert await run("192.0.2.1", "macro.example.com", "alice@macro.example.com") is Result.PASS
    assert await run("192.0.2.1", "macro.example.com", "bob@macro.example.com") is Result.FAIL
    got = await check_host(
        "192.0.2.7", "explain.example.com", "a@explain.example.com", "mx.h", zone()
    )
    assert got.result is Result.FAIL
    assert got.explanation == "192.0.2.7 may not send for explain.example.com (HELO mx.h)"
    assert (await check_helo("192.0.2.9", "helo.example.com", zone())).result is Result.PASS
    assert (await check_helo("192.0.2.8", "helo.example.com", zone())).result is Result.FAIL
    empty = await check_mail_from("192.0.2.9", "<>", "helo.example.com", zone())
    assert empty.result is Result.PASS and empty.domain == "helo.example.com"


def test_sans_io_machine_asks_and_is_told() -> None:
    machine = evaluate("192.0.2.1", "example.org", "a@example.org", "h")
    assert next(machine) == Query("example.org", "TXT")
    try:
        machine.send(NXDomain("example.org.", "TXT"))
    except StopIteration as stop:
        assert stop.value.result is Result.NONE
    else:
        raise AssertionError("the machine asked more than the record")


class Records:
    """One TXT record at example.org; every other question: the name does not exist."""

    def __init__(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        strings = [data[k : k + 255] for k in range(0, len(data), 255)] or [b""]
        txt = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)
        self.answer = Answer("example.org.", "TXT", "example.org.", (txt,), 300)

    async def aclose(self) -> None:
        """Nothing to release."""

    async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
        if name.rstrip(".").lower() == "example.org" and rdtype == "TXT":
            return self.answer
        raise NXDomain(name, rdtype)


TERMS = st.sampled_from(
    ["a", "mx", "ptr", "-all", "~all", "ip4:192.0.2.0/24", "ip6:2001:db8::/32",
     "include:%{d}", "exists:%{i}.%{d}", "redirect=%{l}.example.org", "exp=%{d}",
     "a:%{h}/24", "mx:%{o}//64", "include:x.example.org", "foo=%{s}", "%{p}", "a:%{p}"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(TERMS | st.text(max_size=12), max_size=8),
    st.sampled_from(["192.0.2.1", "2001:db8::1"]),
)
def test_any_record_gets_a_result(terms: list[str], ip: str) -> None:
    text = " ".join(["v=spf1", *terms])
    got = asyncio.run(
        check_host(ip, "example.org", "u@example.org", "h.example.org", Records(text))
    )
    assert isinstance(got.result, Result) and got.reason
    assert got.lookups <= 11 and got.voids <= 3


def test_errors_not_answers_are_temperror() -> None:
    machine = evaluate("192.0.2.1", "example.org", "a@example.org", "h")
    next(machine)
    try:
        machine.send(DNSError("example.org.", "TXT", "odd"))
    except StopIteration as stop:
        assert stop.value.result is Result.TEMPERROR


def _txt(name: str, text: str) -> Answer:
    data = text.encode()
    txt = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [data])
    return Answer(name + ".", "TXT", name + ".", (txt,), 300)


def _expanded(spec: str, ip: str = "192.0.2.3") -> str:
    """The name ``exists:<spec>`` asks for, told by the machine itself."""
    domain, sender = "email.example.com", "strong-bad@email.example.com"
    machine = evaluate(ip, domain, sender, "mx.example.org")
    assert next(machine) == Query(domain, "TXT")
    query = machine.send(_txt(domain, f"v=spf1 exists:{spec} -all"))
    assert query.rdtype == "A"
    return query.name


# RFC 7208 §7.4, the examples
MACRO_EXAMPLES = {
    "%{s}": "strong-bad@email.example.com",
    "%{o}": "email.example.com",
    "%{d}": "email.example.com",
    "%{d4}": "email.example.com",
    "%{d3}": "email.example.com",
    "%{d2}": "example.com",
    "%{d1}": "com",
    "%{dr}": "com.example.email",
    "%{d2r}": "example.email",
    "%{l}": "strong-bad",
    "%{l-}": "strong.bad",
    "%{lr}": "strong-bad",
    "%{lr-}": "bad.strong",
    "%{l1r-}": "strong",
    "%{ir}.%{v}._spf.%{d2}": "3.2.0.192.in-addr._spf.example.com",
    "%{lr-}.lp._spf.%{d2}": "bad.strong.lp._spf.example.com",
    "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}": "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
    "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}": "3.2.0.192.in-addr.strong.lp._spf.example.com",
    "%{d2}.trusted-domains.example.net": "example.com.trusted-domains.example.net",
}


def test_macro_examples_of_rfc7208() -> None:
    for spec, expected in MACRO_EXAMPLES.items():
        assert _expanded(spec) == expected, spec
    nibbles = "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
    assert _expanded("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01") == f"{nibbles}.ip6._spf.example.com"
    assert _expanded("%{S}.x.example") == "strong-bad%40email.example.com.x.example"


def test_long_expansions_are_cut_on_the_left_in_one_pass() -> None:
    # a hostile sender of many one-character labels: cut to 253 characters, label by label
    sender = "a." * 500 + "x@email.example.com"
    machine = evaluate("192.0.2.3", "email.example.com", sender, "h.example")
    next(machine)
    query = machine.send(_txt("email.example.com", "v=spf1 exists:%{l}.%{l}.example.com -all"))
    assert len(query.name) <= 253 and query.name.endswith(".x.example.com")
    assert not query.name.startswith(".")
    huge = "a" * 5000 + "@email.example.com"
    machine = evaluate("192.0.2.3", "email.example.com", huge, "h.example")
    try:
        next(machine)
    except StopIteration as stop:
        assert stop.value.result is Result.NONE
    else:
        raise AssertionError("an oversized sender was evaluated")


async def test_include_fail_is_no_match_and_fetches_no_explanation() -> None:
    zone_text = ZONE + 'incexp   TXT "v=spf1 include:explain.example.com ~all"\n'
    resolver = ZoneResolver.from_text(zone_text, REVERSE)
    got = await check_host("192.0.2.7", "incexp.example.com", "a@incexp.example.com", "h", resolver)
    assert got.result is Result.SOFTFAIL and got.explanation is None
    assert got.queries == 2  # the two records; never why.example.com
