"""auth/verify.py and auth/diagnose.py: one message judged, each diagnosis case explained."""

from __future__ import annotations

import pytest
from messages import (
    ESP_IP,
    FORWARDER_IP,
    ORIGIN_IP,
    UNSIGNED_ORIGIN_IP,
    build,
    keys,
    message,
    resolver,
    signed,
    zones,
)

from mailward.auth.dmarc import DmarcResult
from mailward.auth.results import parse
from mailward.auth.verify import Verification, parse_received, verify_message
from mailward.dns.zonefiles import ZoneResolver
from mailward.records.dmarc import Policy

ME = "mx.receiver.test"


async def judge(
    raw: bytes, *, ip: str | None = None, helo: str | None = None, mail_from: str | None = None
) -> Verification:
    zone = resolver()
    try:
        return await verify_message(
            raw, ip=ip, helo=helo, mail_from=mail_from, resolver=zone, authserv_id=ME
        )
    finally:
        await zone.aclose()


def slugs(v: Verification) -> list[str]:
    return [d.slug for d in v.diagnosis]


def only(v: Verification, slug: str) -> str:
    """The whole text of the one diagnosis ``slug`` (it must be there)."""
    (found,) = [d for d in v.diagnosis if d.slug == slug]
    return " ".join((found.summary, *found.explanation, *found.fixes))


async def test_direct_signed_message_passes_everything() -> None:
    raw = build(signed(message()), ("mail.example.com", ORIGIN_IP), return_path="alice@example.com")
    v = await judge(raw)
    assert (v.ip, v.helo, v.mail_from) == (ORIGIN_IP, "mail.example.com", "alice@example.com")
    assert any("topmost Received" in n for n in v.notes)
    assert any("Return-Path" in n for n in v.notes)
    assert v.spf is not None and v.spf.result == "pass"
    assert v.dkim.result == "pass"
    assert v.dmarc.result is DmarcResult.PASS and v.dmarc.spf_aligned and v.dmarc.dkim_aligned
    assert slugs(v) == ["dmarc-pass"]
    header = parse(v.authentication_results.to_value())
    assert header.authserv_id == ME
    assert [(r.method, r.result) for r in header.results] == [
        ("spf", "pass"),
        ("dkim", "pass"),
        ("dmarc", "pass"),
    ]
    assert header.find("dkim")[0].get("header.d") == "example.com"


async def test_given_envelope_wins_over_the_message() -> None:
    raw = build(signed(message()), ("mail.example.com", ORIGIN_IP), return_path="alice@example.com")
    v = await judge(raw, ip=FORWARDER_IP, helo="mx.example.net", mail_from="alice@example.com")
    assert v.ip == FORWARDER_IP and v.helo == "mx.example.net"
    assert v.notes == ()
    assert v.spf is not None and v.spf.result == "fail"


async def test_forwarded_without_srs_dkim_survives_so_dmarc_passes() -> None:
    raw = build(
        signed(message()),
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.com", ORIGIN_IP),
        return_path="alice@example.com",
    )
    v = await judge(raw)
    assert v.ip == FORWARDER_IP
    assert v.spf is not None and v.spf.result == "fail"
    assert v.origin_hop is not None and v.origin_hop.ip == ORIGIN_IP
    assert v.dmarc.result is DmarcResult.PASS
    assert slugs(v) == ["forwarded-without-srs", "dmarc-pass"]
    text = only(v, "forwarded-without-srs")
    assert "still passes" in text and ORIGIN_IP in text and FORWARDER_IP in text
    assert "SRS" in text and "not aligned" in text and "ARC" in text
    assert "trust" in text  # ARC helps only with receivers that trust the sealer


async def test_forwarded_without_srs_unsigned_origin_fails() -> None:
    raw = build(
        message(author="carol@example.org"),
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.org", UNSIGNED_ORIGIN_IP),
        return_path="carol@example.org",
    )
    v = await judge(raw)
    assert v.dmarc.result is DmarcResult.FAIL
    assert v.dmarc.disposition is Policy.QUARANTINE
    assert v.origin_hop is not None and v.origin_hop.ip == UNSIGNED_ORIGIN_IP
    assert slugs(v)[0] == "forwarded-without-srs"
    text = only(v, "forwarded-without-srs")
    assert "does not sign" in text and "DMARC fails" in text
    assert "sign every message with DKIM" in text


async def test_spf_fail_without_forwarding_is_not_called_forwarding() -> None:
    raw = build(message(author="carol@example.org"), ("evil.test", "203.0.113.66"))
    v = await judge(raw, mail_from="carol@example.org")
    assert v.dmarc.result is DmarcResult.FAIL
    assert "forwarded-without-srs" not in slugs(v)
    assert slugs(v) == ["dmarc-fail"]


async def test_forwarded_with_srs_spf_passes_but_is_not_aligned() -> None:
    srs = "SRS0=HHHH=TT=example.com=alice@example.net"
    raw = build(
        signed(message()),
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.com", ORIGIN_IP),
        return_path=srs,
    )
    v = await judge(raw)
    assert v.spf is not None and v.spf.result == "pass" and v.spf.domain == "example.net"
    assert not v.dmarc.spf_aligned and v.dmarc.result is DmarcResult.PASS
    assert slugs(v) == ["forwarded-with-srs", "dmarc-pass"]
    assert "not aligned" in only(v, "forwarded-with-srs")


async def test_list_footer_breaks_the_body_hash() -> None:
    listed = signed(message(extra=b"List-Id: Figures <figures.example.net>\r\n"))
    raw = listed + b"--\r\nfigures mailing list\r\n"
    raw = build(
        raw,
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.com", ORIGIN_IP),
        return_path="figures-bounces@example.net",
    )
    v = await judge(raw)
    assert v.dkim.signatures[0].result.value == "fail"
    assert v.dmarc.result is DmarcResult.FAIL and v.dmarc.disposition is Policy.REJECT
    assert "body-modified" in slugs(v)
    text = only(v, "body-modified")
    assert "mailing list" in text and "figures.example.net" in text and "l=" in text
    assert "unaligned-spf" in slugs(v)  # the list's own bounce domain passes SPF


async def test_list_subject_tag_breaks_the_header_signature() -> None:
    original = signed(message(extra=b"List-Id: <figures.example.net>\r\n"))
    tagged = original.replace(b"Subject: Quarterly", b"Subject: [figures] Quarterly")
    raw = build(tagged, ("mx.example.net", FORWARDER_IP), return_path="alice@example.com")
    v = await judge(raw)
    assert v.dkim.signatures[0].reason.startswith("signature did not verify")
    assert v.dmarc.result is DmarcResult.FAIL
    assert "headers-modified" in slugs(v) and "body-modified" not in slugs(v)
    assert "[figures]" in only(v, "headers-modified")


async def test_esp_signature_is_not_aligned() -> None:
    raw = build(
        signed(message(), "esp.example.net"),
        ("out.esp.example.net", ESP_IP),
        return_path="bounce@esp.example.net",
    )
    v = await judge(raw)
    assert v.dkim.result == "pass" and v.spf is not None and v.spf.result == "pass"
    assert v.dmarc.result is DmarcResult.FAIL
    assert slugs(v)[:2] == ["unaligned-signature", "unaligned-spf"]
    text = only(v, "unaligned-signature")
    assert "esp.example.net" in text and "example.com" in text and "_domainkey" in text


@pytest.mark.parametrize(
    "froms",
    [
        b"From: Alice <alice@example.com>\r\nFrom: Mallory <m@example.net>\r\n",
        b"From: Alice <alice@example.com>\r\nFrom: Alice <alice@example.com>\r\n",
        b"From: alice@example.com, m@example.net\r\n",
    ],
)
async def test_several_from_is_never_a_pass(froms: bytes) -> None:
    body = message().replace(b"From: Alice <alice@example.com>\r\n", b"")
    raw = build(signed(froms + body), ("mail.example.com", ORIGIN_IP), return_path="a@example.com")
    v = await judge(raw)
    assert v.dmarc.result is DmarcResult.PERMERROR
    assert slugs(v)[0] == "several-from"


async def test_forged_results_with_our_id_are_reported_not_trusted() -> None:
    forged = f"Authentication-Results: {ME}; dmarc=pass header.from=example.org\r\n".encode()
    other = b"Authentication-Results: mx.elsewhere.test; spf=pass\r\n"
    raw = forged + other + message(author="carol@example.org")
    v = await judge(raw, ip="203.0.113.66", helo="evil.test", mail_from="carol@example.org")
    assert v.dmarc.result is DmarcResult.FAIL
    assert len(v.forged_results) == 1 and "dmarc=pass" in v.forged_results[0]
    assert "forged-results" in slugs(v)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@example.com\r\nX-Big: " + b"x" * (2 << 20) + b"\r\n\r\nbody\r\n",
        b"From: a@ex\x00ample.com\r\nSubject: \xff\xfe\x80\r\n\r\nbare\rCR and NUL \x00\r\n",
        b"From: \xc3\xa9l\xc3\xa8ve@exa\xc3\xa9mple.com\r\n\r\n",
        b"",
        b"\r\n\r\n",
        b"no colon at all",
        b"Received: from [\x00\xff (garbage [999.1.1.1])\r\nFrom: <>\r\n\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; d=x; b=\r\nFrom: a@example.com\r\n\r\n",
        b"From: a@example.com\r\n" + b"Received: from a (a [192.0.2.1]) by b\r\n" * 900 + b"\r\n",
    ],
)
async def test_hostile_messages_get_a_defined_verdict(raw: bytes) -> None:
    v = await judge(raw)
    assert v.dmarc.result is not DmarcResult.PASS
    assert v.diagnosis
    header = v.authentication_results.to_header()
    assert header.isascii() and "\x00" not in header


async def test_unreadable_message() -> None:
    v = await judge(b"From: a@example.com\r\nX-Big: " + b"x" * (2 << 20))
    assert v.error is not None and slugs(v) == ["unreadable"]
    assert v.dmarc.result is DmarcResult.PERMERROR


async def test_missing_envelope_is_said() -> None:
    v = await judge(signed(message()))
    assert v.spf is None and v.ip is None
    assert any("SPF was not checked" in n for n in v.notes)
    assert v.dmarc.result is DmarcResult.PASS  # DKIM alone


@pytest.mark.parametrize(
    ("value", "helo", "ip"),
    [
        ("from mx.example.net (mx.example.net [198.51.100.20]) by a.test", "mx.example.net",
         "198.51.100.20"),
        ("from x (unknown [IPv6:2001:db8::1]) by y", "x", "2001:db8::1"),
        ("from [192.0.2.7] by y", "[192.0.2.7]", "192.0.2.7"),
        ("by mx.test with LMTP", None, None),
        ("from a (b [300.1.1.1]) by c ([192.0.2.9])", "a", None),
    ],
)  # fmt: skip
def test_parse_received(value: str, helo: str | None, ip: str | None) -> None:
    hop = parse_received(value)
    assert (hop.helo, hop.ip) == (helo, ip)


async def test_several_hops_without_an_authorised_origin_is_probably_forwarding() -> None:
    raw = build(
        message(author="carol@example.org"),
        ("mx.example.net", FORWARDER_IP),
        ("relay.example.net", "198.51.100.99"),
        return_path="carol@example.org",
    )
    v = await judge(raw)
    assert v.origin_hop is None
    assert only(v, "forwarded-without-srs").startswith("Probably forwarded")


async def test_softfail_from_the_forwarder_is_forwarding_too() -> None:
    # the same world, but example.org soft-fails strangers
    texts = [t.replace("-all", "~all") if "ORIGIN example.org" in t else t for t in zones()]
    zone = ZoneResolver.from_text(*texts)
    raw = build(
        message(author="carol@example.org"),
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.org", UNSIGNED_ORIGIN_IP),
        return_path="carol@example.org",
    )
    v = await verify_message(raw, ip=None, helo=None, mail_from=None, resolver=zone, authserv_id=ME)
    assert v.spf is not None and v.spf.result == "softfail"
    assert "softfails" in only(v, "forwarded-without-srs")


async def test_forwarding_mentions_an_arc_seal() -> None:
    seal = b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.net; s=arc; b=AA==\r\n"
    raw = build(
        seal + message(author="carol@example.org"),
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.org", UNSIGNED_ORIGIN_IP),
        return_path="carol@example.org",
    )
    v = await judge(raw)
    assert v.arc_sets == 1
    assert "trusts the sealer" in only(v, "forwarded-without-srs")


async def test_an_arc_sealed_forward_reports_the_chain() -> None:
    from mailward.auth.arc import seal_message

    zone = resolver()
    try:
        sealed, chain, added = await seal_message(
            signed(message()), zone, keys()["esp.example.net"], authserv_id="mx.example.net"
        )
    finally:
        await zone.aclose()
    assert chain.result == "none" and added.cv == "none"
    raw = build(
        sealed,
        ("mx.example.net", FORWARDER_IP),
        ("mail.example.com", ORIGIN_IP),
        return_path="alice@example.com",
    )
    v = await judge(raw)
    assert v.arc is not None and v.arc.result == "pass" and v.arc_sets == 1
    header = parse(v.authentication_results.to_value())
    assert ("arc", "pass") in [(r.method, r.result) for r in header.results]


async def test_no_arc_chain_writes_no_arc_result() -> None:
    raw = build(signed(message()), ("mail.example.com", ORIGIN_IP), return_path="alice@example.com")
    v = await judge(raw)
    assert v.arc is not None and v.arc.result == "none"
    assert "arc" not in [r.method for r in parse(v.authentication_results.to_value()).results]
