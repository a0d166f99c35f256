"""Each shortcut the audit takes for speed gives exactly what the general way gives.

Evidence text of TXT answers, "is this an IP address", the PTR name of an address and the DKIM
selectors that make valid names are computed the cheap way for the common case; these tests
compare them with the general way on arbitrary input.
"""

from __future__ import annotations

import ipaddress

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename
from dns.rdtypes.ANY.TXT import TXT
from hypothesis import example, given
from hypothesis import strategies as st

from mailward.audit.checks import dkim, ptr
from mailward.audit.domain import is_ip_address
from mailward.dns.lookup import Lookup, rdata_text
from mailward.dns.resolver import Answer
from mailward.records.orgdomain import valid_name

TXT_STRINGS = st.lists(
    st.one_of(
        st.binary(min_size=0, max_size=255),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=255).map(
            str.encode
        ),
    ),
    min_size=1,
    max_size=4,
)


@given(TXT_STRINGS)
@example([b'say "hi" \\ bye'])
@example([b"caf\xc3\xa9", b"\x00\x1f\x7f\xff"])
@example([b""])
def test_txt_evidence_is_dnspythons_text(strings: list[bytes]) -> None:
    record = TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)
    assert rdata_text(record) == record.to_text()


def test_other_records_are_written_by_dnspython() -> None:
    mx = dns.rdata.from_text("IN", "MX", "10 mail.example.com.")
    answer = Answer("example.com.", "MX", "example.com.", (mx,), 3600)
    lookup = Lookup("example.com", "MX", "ok", answer)
    assert lookup.describe() == "example.com MX: 10 mail.example.com."


def general_is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@given(st.one_of(st.text(max_size=60), st.ip_addresses().map(str)))
@example("192.0.2.1")
@example("1.2.3")
@example("01.2.3.4")
@example("fe80::1%eth0")
@example("::ffff:192.0.2.1")
@example("")
def test_is_ip_address_agrees_with_the_standard_library(text: str) -> None:
    assert is_ip_address(text) == general_is_ip_address(text)


@given(st.ip_addresses().map(str))
@example("::ffff:192.0.2.1")
@example("0.0.0.0")
def test_ptr_names_are_dnspythons(address: str) -> None:
    expected = dns.reversename.from_address(address).to_text().rstrip(".")
    assert ptr._reverse_name(address) == expected


LABEL = st.from_regex(r"[a-z0-9_-]{0,64}", fullmatch=True)


@given(
    selectors=st.lists(st.lists(LABEL, min_size=1, max_size=3).map(".".join), max_size=6),
    domain=st.lists(LABEL, min_size=1, max_size=6).map(".".join),
)
@example(selectors=["s1", "bad sel", "-x"], domain="example.com")
@example(selectors=["s1"], domain="a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 50)
def test_askable_selectors_are_those_that_make_valid_names(
    selectors: list[str], domain: str
) -> None:
    names = {s: f"{s}._domainkey.{domain}" for s in selectors}
    expected = [s for s in selectors if dkim._SELECTOR.match(s) and valid_name(names[s])]
    assert dkim._askable(tuple(selectors), names, f"_domainkey.{domain}") == expected
