"""auth/arc.py parsers under hypothesis: ARC header values of any text never raise, valid
ones read back what was written, and hostile ARC fields on a message give a defined verdict."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailward.auth import arc
from mailward.dns.zonefiles import ZoneResolver

ZONE = (
    "$ORIGIN arc.example.\n$TTL 300\n@ IN SOA ns host 1 3600 600 86400 300\n@ IN NS ns\n"
    'k._domainkey IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="\n'
)
RESOLVER = ZoneResolver.from_text(ZONE)
MESSAGE = b"From: a@arc.example\r\nSubject: hi\r\n\r\nbody\r\n"
TAG_TEXT = st.text(max_size=300)
TAG_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "i=",
                "i=1",
                "i=50",
                "i=0",
                "i=51",
                "cv=",
                "cv=pass",
                "cv=fail",
                "a=",
                "a=rsa-sha256",
                "b=",
                "b=AAAA",
                "bh=",
                "d=arc.example",
                "s=k",
                "h=from",
                "c=relaxed/relaxed",
                "t=1",
                ";",
                "=",
                " ",
                "\r\n\t",
                "mx.example;",
            ]
        ),
        TAG_TEXT,
    ),
    max_size=12,
).map("; ".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(TAG_TEXT, TAG_PIECES))
def test_parsers_never_raise(text: str) -> None:
    seal = arc.parse_seal(text)
    ams = arc.parse_message_signature(text)
    aar = arc.parse_results(text)
    for parsed in (seal, ams, aar):
        assert parsed.instance is None or 1 <= parsed.instance <= arc.MAX_INSTANCES
    if seal.instance is None:
        assert seal.diagnostics  # no valid instance is always reported


domains = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True)
b64 = st.binary(min_size=1, max_size=64).map(lambda b: __import__("base64").b64encode(b).decode())


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 50),
    st.sampled_from(["none", "pass", "fail"]),
    st.sampled_from(["rsa-sha256", "ed25519-sha256"]),
    domains,
    domains,
    b64,
    st.none() | st.integers(0, 10**12 - 1),
)
def test_valid_seal_reads_back(
    i: int, cv: str, a: str, d: str, s: str, b: str, t: int | None
) -> None:
    stamp = f" t={t};" if t is not None else ""
    seal = arc.parse_seal(f" i={i}; cv={cv}; a={a}; d={d}; s={s};{stamp}\r\n\tb={b}")
    assert seal.diagnostics == ()
    assert (seal.instance, seal.cv, seal.algorithm, seal.domain, seal.selector) == (i, cv, a, d, s)
    assert (seal.signature, seal.timestamp) == (b, t)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), domains, domains, st.lists(domains, min_size=1, max_size=5), b64, b64)
def test_valid_message_signature_reads_back(
    i: int, d: str, s: str, names: list[str], bh: str, b: str
) -> None:
    h = ":".join(["from", *names])
    ams = arc.parse_message_signature(
        f"i={i}; a=rsa-sha256; c=relaxed/simple; d={d}; s={s}; h={h}; bh={bh}; b={b}"
    )
    assert ams.diagnostics == ()
    sig = ams.signature
    assert (ams.instance, sig.domain, sig.selector, sig.headers) == (i, d, s, tuple(h.split(":")))
    assert (sig.body_hash, sig.signature, sig.canonicalization) == (bh, b, "relaxed/simple")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results", "arc-seal"]
            ),
            TAG_PIECES,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_hostile_arc_fields_give_a_defined_verdict(fields: list[tuple[str, str]]) -> None:
    head = b"".join(
        f"{name}: {value}".encode("utf-8", "replace").replace(b"\r\n", b" ") + b"\r\n"
        for name, value in fields
    )
    result = asyncio.run(arc.validate(head + MESSAGE, RESOLVER))
    assert result.result in ("fail", "temperror", "pass")  # never "none": ARC fields are there
    assert result.reason
