"""auth/arc.py: seal-then-validate over several hops, tampering, broken and hostile chains."""

from __future__ import annotations

import asyncio
import functools
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailward.auth import arc
from mailward.auth import results as ar
from mailward.auth.dkim import SigningKey
from mailward.dns.resolver import Answer
from mailward.dns.zonefiles import ZoneResolver
from mailward.errors import TempError
from mailward.records._txt import to_zone_text
from mailward.records.dkim import key_record

NOW = 1_780_000_000
MESSAGE = (
    b"From: Alice <alice@origin.example>\r\n"
    b"To: list@lists.example\r\n"
    b"Subject: Lunch on Friday?\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <lunch.1@origin.example>\r\n"
    b"\r\n"
    b"Shall we meet at noon?\r\n"
    b"  Alice\r\n"
)
HOPS = ("one.example", "two.example", "three.example")


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def zone(domain: str) -> str:
    rsa_txt = to_zone_text(key_record(rsa_key().public_key()).to_text())
    ed_txt = to_zone_text(key_record(ed_key().public_key()).to_text())
    return (
        f"$ORIGIN {domain}.\n$TTL 300\n"
        f"@ IN SOA ns.{domain}. host.{domain}. 1 3600 600 86400 300\n"
        f"@ IN NS ns.{domain}.\n"
        f"rsa._domainkey IN TXT {rsa_txt}\n"
        f"ed._domainkey IN TXT {ed_txt}\n"
    )


@functools.cache
def resolver() -> ZoneResolver:
    return ZoneResolver.from_text(*(zone(domain) for domain in HOPS))


def key(domain: str, algorithm: str) -> SigningKey:
    private = rsa_key() if algorithm == "rsa" else ed_key()
    return SigningKey(domain, algorithm, private)


def validate(message: bytes, dns: object | None = None) -> arc.ChainResult:
    return asyncio.run(arc.validate(message, dns or resolver(), now=NOW))  # type: ignore[arg-type]


def hop(message: bytes, domain: str, algorithm: str = "rsa") -> tuple[bytes, arc.Sealed]:
    """One forwarder: validate, then seal with its own A-R results."""
    own = [ar.spf("pass", mailfrom="origin.example")]
    sealed, _, added = asyncio.run(
        arc.seal_message(
            message, resolver(), key(domain, algorithm), authserv_id=f"mx.{domain}",
            results=own, now=NOW,
        )
    )  # fmt: skip
    return sealed, added


def chain(hops: int, algorithms: tuple[str, ...] = ("rsa", "ed", "rsa")) -> bytes:
    message = MESSAGE
    for number in range(hops):
        message, _ = hop(message, HOPS[number], algorithms[number])
    return message


def test_no_arc_fields_is_none() -> None:
    result = validate(MESSAGE)
    assert (result.result, result.instances) == ("none", 0)


@pytest.mark.parametrize("hops", [1, 2, 3])
@pytest.mark.parametrize(
    "algorithms", [("rsa", "rsa", "rsa"), ("ed", "ed", "ed"), ("rsa", "ed", "rsa")]
)
def test_seal_then_validate(hops: int, algorithms: tuple[str, ...]) -> None:
    message = chain(hops, algorithms)
    result = validate(message)
    assert result.result == "pass", result.reason
    assert result.instances == hops
    assert result.oldest_pass == 0
    assert [s.parsed_seal.cv for s in result.sets] == ["none"] + ["pass"] * (hops - 1)
    assert result.sets[-1].parsed_seal.domain == HOPS[hops - 1]


def test_first_set_says_cv_none_and_copies_results() -> None:
    sealed, added = hop(MESSAGE, "one.example")
    assert added.cv == "none"
    assert [f.split(b":")[0] for f in added.fields] == [
        b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results",
    ]  # fmt: skip
    aar = arc.parse_results(added.fields[2].split(b":", 1)[1].decode())
    assert aar.instance == 1
    assert aar.results.authserv_id == "mx.one.example"
    assert [r.method for r in aar.results.results] == ["spf", "arc"]
    assert aar.results.find("arc")[0].result == "none"
    assert sealed.endswith(MESSAGE)


def test_lf_message_is_sealed_in_lf() -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    sealed, _ = hop(lf, "one.example")
    assert b"\r" not in sealed
    assert validate(sealed).result == "pass"


def test_body_change_after_last_seal_fails_at_last_instance() -> None:
    message = chain(2).replace(b"noon?", b"one?")
    result = validate(message)
    assert (result.result, result.failed_instance) == ("fail", 2)
    assert "body hash" in result.reason


def test_body_change_between_hops_moves_oldest_pass() -> None:
    first, _ = hop(MESSAGE, "one.example")
    received = validate(first)  # the list judges the message as it arrives,
    footer = first + b"--\r\nlists.example footer\r\n"  # adds its footer, then seals
    added = arc.seal(footer, key("two.example", "ed"), received, authserv_id="lists", now=NOW)
    assert added.cv == "pass"
    second = b"".join(added.fields) + footer
    third, _ = hop(second, "three.example")
    result = validate(third)
    assert result.result == "pass", result.reason
    assert result.oldest_pass == 2  # the AMS of i=1 no longer verifies; 2 and 3 do


def test_subject_rewrite_fails() -> None:
    message = chain(2).replace(b"Subject: Lunch", b"Subject: [list] Lunch")
    result = validate(message)
    assert (result.result, result.failed_instance) == ("fail", 2)
    assert "signature did not verify" in result.reason


def test_tampered_seal_fails_at_that_instance() -> None:
    message = chain(3)
    # Change the cv= of the set i=2 is structural; change its t= instead (covered by its seal).
    fields = message.split(b"\r\n")
    index = next(i for i, f in enumerate(fields) if f.startswith(b"ARC-Seal: i=2;"))
    fields[index] = re.sub(rb"t=\d+", b"t=1", fields[index])
    result = validate(b"\r\n".join(fields))
    assert result.result == "fail"
    assert result.failed_instance == 3  # the seal i=3 covers set 2 and fails first (N..1)
    fields_ams = message.split(b"\r\n")
    index = next(
        i for i, f in enumerate(fields_ams) if f.startswith(b"ARC-Authentication-Results: i=1;")
    )
    fields_ams[index] = fields_ams[index].replace(b"mx.one.example", b"mx.evil.example")
    result = validate(b"\r\n".join(fields_ams))
    assert result.result == "fail" and result.failed_instance == 3


def test_broken_chain_is_sealed_cv_fail_and_then_nothing() -> None:
    message = chain(2).replace(b"noon?", b"one?")
    sealed, added = hop(message, "three.example")
    assert added.cv == "fail"
    assert "failed chain" in added.reason
    assert b"ARC-Seal: i=3; cv=fail;" in sealed
    result = validate(sealed)
    assert result.result == "fail" and result.sealed_fail
    again, more = hop(sealed, "one.example")
    assert more.fields == () and again == sealed
    assert "nothing may follow" in more.reason


def test_nothing_after_a_failed_seal_even_when_the_chain_is_also_broken() -> None:
    message = chain(2).replace(b"noon?", b"one?")
    sealed, _ = hop(message, "three.example")  # i=3 cv=fail
    broken = without(sealed, b"ARC-Message-Signature: i=1;")
    result = validate(broken)
    assert result.result == "fail" and not result.sealed_fail  # the structure fails first
    added = arc.seal(broken, key("one.example", "rsa"), result, authserv_id="mx", now=NOW)
    assert added.fields == () and "nothing may follow" in added.reason


def test_cv_fail_seal_covers_only_its_own_set() -> None:
    message = chain(1).replace(b"noon?", b"one?")
    sealed, added = hop(message, "two.example")
    assert added.cv == "fail"
    # Its seal still verifies although the first set is changed: it does not cover it.
    result = validate(sealed.replace(b"mx.one.example", b"mx.other.example"))
    assert result.result == "fail" and result.sealed_fail


def test_temperror_is_never_fail() -> None:
    message = chain(2)

    class Down:
        async def query(self, name: str, rdtype: str, *, dnssec: bool = False) -> Answer:
            raise TempError(name, rdtype, "timed out")

        async def aclose(self) -> None:
            pass

    result = validate(message, Down())
    assert result.result == "temperror"
    sealed = arc.seal(message, key("three.example", "rsa"), result, authserv_id="mx.three")
    assert sealed.fields == ()


def test_missing_key_fails() -> None:
    message = chain(1).replace(b"s=rsa;", b"s=gone;")
    result = validate(message)
    assert result.result == "fail"
    assert "no key record" in result.reason


def fields_of(message: bytes) -> list[bytes]:
    head = message.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return re.split(rb"(?<=\r\n)(?![ \t])", head)[:-1]


def without(message: bytes, prefix: bytes) -> bytes:
    body = message.split(b"\r\n\r\n", 1)[1]
    kept = [f for f in fields_of(message) if not f.startswith(prefix)]
    assert len(kept) < len(fields_of(message))
    return b"".join(kept) + b"\r\n" + body


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda m: without(m, b"ARC-Message-Signature: i=1;"), "lacks arc-message-signature"),
        (lambda m: without(m, b"ARC-Authentication-Results: i=2;"), "lacks arc-authentication"),
        (lambda m: without(m, b"ARC-Seal: i=1;"), "lacks arc-seal"),
        (lambda m: m.replace(b"ARC-Seal: i=1;", b"ARC-Seal: i=0;"), "not an instance"),
        (lambda m: m.replace(b"ARC-Seal: i=2;", b"ARC-Seal: i=51;"), "not an instance"),
        (lambda m: m.replace(b"i=2; cv=pass", b"i=2; cv=none"), "cv=none, not pass"),
        (lambda m: m.replace(b"i=1; cv=none", b"i=1; cv=pass"), "cv=pass, not none"),
        (lambda m: m.replace(b"i=2; cv=pass", b"i=2; cv=maybe"), "not none, pass or fail"),
        (lambda m: m.replace(b"i=2; cv=pass", b"i=2; cv=pass; cv=none"), "malformed"),
        (lambda m: m.replace(b"i=1; a=", b"i=1; a=rsa-sha1; x="), "malformed"),
        (lambda m: m.replace(b"i=1; cv=none;", b"i=1; h=from; cv=none;"), "h= is not allowed"),
    ],
)
def test_hostile_structure_fails_with_a_reason(change: object, why: str) -> None:
    message = change(chain(2))  # type: ignore[operator]
    result = validate(message)
    assert result.result == "fail"
    assert why in result.reason, result.reason


def test_duplicate_set_fails() -> None:
    message = chain(2)
    aar = next(f for f in fields_of(message) if f.startswith(b"ARC-Authentication-Results: i=1;"))
    result = validate(aar + message)
    assert result.result == "fail" and "two ARC-Authentication-Results" in result.reason


def test_sets_beyond_fifty_fail_and_do_not_seal() -> None:
    junk = b"".join(
        b"ARC-Seal: i=%d; cv=pass; a=rsa-sha256; d=x; s=y; b=AA==\r\n" % i for i in range(1, 52)
    )
    result = validate(junk + MESSAGE)
    assert result.result == "fail"
    sealed = arc.seal(junk + MESSAGE, key("one.example", "rsa"), result, authserv_id="mx")
    assert sealed.fields == () and "no more than 50" in sealed.reason


def test_unreadable_first_arc_field_seals_cv_fail() -> None:
    message = b"ARC-Seal: garbage\r\n" + MESSAGE
    result = validate(message)
    assert result.result == "fail"
    sealed = arc.seal(message, key("one.example", "rsa"), result, authserv_id="mx.one.example")
    assert sealed.cv == "fail"


def test_to_result_writes_arc_method() -> None:
    result = validate(chain(2))
    text = result.to_result(remote_ip="192.0.2.1").to_text()
    assert text.startswith("arc=pass (")
    assert "header.oldest-pass=0" in text and "smtp.remote-ip=192.0.2.1" in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"\r\n")),
    st.integers(1, 3),
    st.data(),
)
def test_any_body_change_fails_at_the_last_instance(body: bytes, hops: int, data: Any) -> None:
    message = MESSAGE.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    for number in range(hops):
        message, _ = hop(message, HOPS[number], ("rsa", "ed")[number % 2])
    assert validate(message).result == "pass"
    start = message.index(b"\r\n\r\n") + 4
    extra = data.draw(st.binary(min_size=1, max_size=8).filter(lambda b: b.strip(b" \t\r\n")))
    changed = message[:start] + extra + message[start:]
    result = validate(changed)
    assert (result.result, result.failed_instance) == ("fail", hops)
