"""SRS rewriting (mailward.auth.srs): postsrsd's vectors, the rules, the secret file, fuzzing.

The vectors were produced by Debian's postsrsd 1.10 (``postsrsd -d fwd.example`` with the
secret file ``tops3cr3t`` / ``old``) on day 20785 since the epoch, whose stamp is ``JR``;
``test_srs_postsrsd.py`` checks the same behaviour live against the daemon.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.auth.srs import (
    MAX_INPUT,
    SRS,
    NotRewritten,
    Reason,
    Rewritten,
    SecretFileError,
    SRS0Address,
    SRS1Address,
    create_secret_file,
    load_secrets,
    parse_address,
    timestamp,
)

DAY = 86400
NOW = 20785 * DAY + 12 * 3600  # stamp "JR"
SRS_FWD = SRS("fwd.example", (b"tops3cr3t", b"old"))

POSTSRSD_FORWARD = [
    ("alice@orig.example", "SRS0=jEzK=JR=orig.example=alice@fwd.example"),
    ("Alice@Orig.Example", "SRS0=jEzK=JR=Orig.Example=Alice@fwd.example"),
    ("a b@x.com", "SRS0=fMXI=JR=x.com=a b@fwd.example"),
    ("SRS0=abcd=AA=x.com=y@other.example", "SRS1=m5aw=other.example==abcd=AA=x.com=y@fwd.example"),
    ("SRS0+abcd=AA=x.com=y@other.example", "SRS1=NfZF=other.example=+abcd=AA=x.com=y@fwd.example"),
    ("SRS0-x@o.example", "SRS1=47pl=o.example=-x@fwd.example"),
    (
        "SRS1=abcd=a.com==HHHH=TT=x.com=y@other.example",
        "SRS1=TQ2/=a.com==HHHH=TT=x.com=y@fwd.example",
    ),
    ("SRS1=a=b=c@o.example", "SRS1=8xaC=b=c@fwd.example"),
]

POSTSRSD_REVERSE = [
    ("SRS0=jEzK=JR=orig.example=alice@fwd.example", "alice@orig.example"),
    ("srs0=JEZK=jr=ORIG.example=alice@whatever", "alice@ORIG.example"),  # any case, any domain
    ("SRS0=hqvu=I4=orig.example=alice@fwd.example", "alice@orig.example"),  # 21 days old
    ("SRS0=yOio=JR=orig.example=alice@fwd.example", "alice@orig.example"),  # the second secret
    ("SRS0=jEzKZZ=JR=orig.example=alice@fwd.example", "alice@orig.example"),  # extra ignored
    ("SRS0+jEzK=JR=orig.example=alice@fwd.example", "alice@orig.example"),
    ("SRS0=mSFE=JR=orig.example=al=ice@fwd.example", "al=ice@orig.example"),
    ("SRS1=TQ2/=a.com==HHHH=TT=x.com=y@fwd.example", "SRS0=HHHH=TT=x.com=y@a.com"),
    ("SRS1=TQ2/=a.com==HHHH=TT=x.com=y", "SRS0=HHHH=TT=x.com=y@a.com"),  # no domain needed
    ("SRS1=qlw1=a.com=xyz@fwd.example", "SRS0xyz@a.com"),
]

POSTSRSD_REFUSED = [
    ("SRS0=qiqM=I3=orig.example=alice@fwd.example", Reason.EXPIRED),  # 22 days old
    ("SRS0=ybVS=JS=orig.example=alice@fwd.example", Reason.EXPIRED),  # tomorrow
    ("SRS0=3gSi=JW=orig.example=alice@fwd.example", Reason.EXPIRED),  # in five days
    ("SRS0=jEz=JR=orig.example=alice@fwd.example", Reason.HASH_TOO_SHORT),
    ("SRS0=abcd=JR=orig.example=alice@fwd.example", Reason.HASH_INVALID),
    ("SRS0=Q/Bj=J=orig.example=alice@fwd.example", Reason.BAD_TIMESTAMP),  # postsrsd: out of date
    ("SRS0=pYhz=AJR=orig.example=alice@fwd.example", Reason.BAD_TIMESTAMP),
    ("SRS0=jEzK=J1=orig.example=alice@fwd.example", Reason.BAD_TIMESTAMP),
    ("alice@orig.example", Reason.NOT_SRS),
    ("SRS2=abc@fwd.example", Reason.NOT_SRS),
    ("SRS0xjEzK=JR=orig.example=alice@fwd.example", Reason.NOT_SRS),
    ("SRS0=@fwd.example", Reason.MALFORMED),
    ("SRS1=x=y@fwd.example", Reason.MALFORMED),
    ("SRS0=jEzK=JR=orig.example@fwd.example", Reason.MALFORMED),
]


def expected_hash(secret: bytes, *parts: str, length: int = 4) -> str:
    """libsrs2's hash, computed independently: base64(HMAC-SHA1(secret, lower(parts)))."""
    mac = hmac.new(secret, "".join(parts).lower().encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()[:length]


@pytest.mark.parametrize(("sender", "rewritten"), POSTSRSD_FORWARD)
def test_forward_writes_what_postsrsd_writes(sender: str, rewritten: str) -> None:
    assert SRS_FWD.forward(sender, now=NOW) == Rewritten(rewritten)


@pytest.mark.parametrize(("address", "original"), POSTSRSD_REVERSE)
def test_reverse_reads_what_postsrsd_reads(address: str, original: str) -> None:
    assert SRS_FWD.reverse(address, now=NOW) == Rewritten(original)


@pytest.mark.parametrize(("address", "reason"), POSTSRSD_REFUSED)
def test_reverse_refuses_what_postsrsd_refuses(address: str, reason: Reason) -> None:
    result = SRS_FWD.reverse(address, now=NOW)
    assert isinstance(result, NotRewritten)
    assert result.reason is reason
    assert result.detail


def test_hash_is_hmac_sha1_base64_of_the_lowercased_fields() -> None:
    result = SRS_FWD.forward("Bob.Smith@Example.ORG", now=NOW)
    assert isinstance(result, Rewritten)
    digest = expected_hash(b"tops3cr3t", "JR", "Example.ORG", "Bob.Smith")
    assert result.address == f"SRS0={digest}=JR=Example.ORG=Bob.Smith@fwd.example"


def test_timestamp_is_the_day_in_two_base32_characters() -> None:
    assert timestamp(0) == "AA"
    assert timestamp(DAY - 1) == "AA"
    assert timestamp(DAY) == "AB"
    assert timestamp(31 * DAY) == "A7"
    assert timestamp(32 * DAY) == "BA"
    assert timestamp(1023 * DAY) == "77"
    assert timestamp(1024 * DAY) == "AA"  # modulo 1024 days
    assert timestamp(NOW) == "JR"


@pytest.mark.parametrize(
    ("age", "ok"), [(0, True), (1, True), (21, True), (22, False), (-1, False)]
)
def test_max_age_is_21_days_by_default(age: int, ok: bool) -> None:
    made = SRS_FWD.forward("alice@orig.example", now=NOW - age * DAY)
    assert isinstance(made, Rewritten)
    result = SRS_FWD.reverse(made.address, now=NOW)
    assert isinstance(result, Rewritten) is ok
    if not ok:
        assert result == NotRewritten(Reason.EXPIRED, result.detail)


def test_max_age_is_configurable() -> None:
    short = SRS("fwd.example", (b"s",), max_age=2)
    made = short.forward("alice@orig.example", now=NOW - 3 * DAY)
    assert isinstance(made, Rewritten)
    assert isinstance(short.reverse(made.address, now=NOW), NotRewritten)
    assert isinstance(short.reverse(made.address, now=NOW - DAY), Rewritten)


def test_the_stamp_wraps_after_1024_days_as_in_libsrs2() -> None:
    made = SRS_FWD.forward("alice@orig.example", now=NOW)
    assert isinstance(made, Rewritten)
    assert isinstance(SRS_FWD.reverse(made.address, now=NOW + 1024 * DAY), Rewritten)
    assert isinstance(SRS_FWD.reverse(made.address, now=NOW + 1000 * DAY), NotRewritten)


def test_the_hash_check_ignores_case_everywhere() -> None:
    made = SRS_FWD.forward("Alice@Orig.Example", now=NOW)
    assert isinstance(made, Rewritten)
    for variant in (made.address.lower(), made.address.upper(), made.address.swapcase()):
        result = SRS_FWD.reverse(variant, now=NOW)
        assert isinstance(result, Rewritten)
        assert result.address.lower() == "alice@orig.example"


def test_first_secret_signs_and_every_secret_verifies() -> None:
    old = SRS("fwd.example", (b"old",))
    rotated = SRS("fwd.example", (b"new", b"old"))
    retired = SRS("fwd.example", (b"new",))
    by_old = old.forward("alice@orig.example", now=NOW)
    by_rotated = rotated.forward("alice@orig.example", now=NOW)
    assert isinstance(by_old, Rewritten) and isinstance(by_rotated, Rewritten)
    assert by_rotated == retired.forward("alice@orig.example", now=NOW)  # "new" signs
    assert isinstance(rotated.reverse(by_old.address, now=NOW), Rewritten)
    assert isinstance(rotated.reverse(by_rotated.address, now=NOW), Rewritten)
    refused = retired.reverse(by_old.address, now=NOW)
    assert isinstance(refused, NotRewritten) and refused.reason is Reason.HASH_INVALID


def test_hash_length_and_minimum_as_postsrsd_n_and_N() -> None:
    long_hash = SRS("fwd.example", (b"tops3cr3t",), hash_length=6, hash_min=4)
    made = long_hash.forward("alice@orig.example", now=NOW)
    assert made == Rewritten("SRS0=jEzKac=JR=orig.example=alice@fwd.example")  # postsrsd -n 6
    for hash_ in ("jEzK", "jEzKa", "jEzKac", "jEzKacuP"):
        result = long_hash.reverse(f"SRS0={hash_}=JR=orig.example=alice@fwd.example", now=NOW)
        assert result == Rewritten("alice@orig.example"), hash_
    for hash_, reason in (("jEz", Reason.HASH_TOO_SHORT), ("jEzKaZ", Reason.HASH_INVALID)):
        result = long_hash.reverse(f"SRS0={hash_}=JR=orig.example=alice@fwd.example", now=NOW)
        assert isinstance(result, NotRewritten) and result.reason is reason


@pytest.mark.parametrize("separator", ["=", "-", "+"])
def test_separators(separator: str) -> None:
    srs = SRS("fwd.example", (b"k",), separator=separator)
    made = srs.forward("alice@orig.example", now=NOW)
    assert isinstance(made, Rewritten)
    assert made.address.startswith(f"SRS0{separator}")
    assert srs.reverse(made.address, now=NOW) == Rewritten("alice@orig.example")
    other = SRS("other.example", (b"j",), separator=separator)
    chained = other.forward(made.address, now=NOW)
    assert isinstance(chained, Rewritten)
    assert chained.address.startswith(f"SRS1{separator}")
    assert f"=fwd.example={separator}" in chained.address  # the first hop's separator is kept
    assert other.reverse(chained.address, now=NOW) == made


def test_local_domains_are_left_alone() -> None:
    srs = SRS("fwd.example", (b"k",), local_domains=("shop.example", ".corp.example"))
    for sender in ("bob@fwd.example", "bob@FWD.Example", "x@shop.example", "y@a.corp.example"):
        result = srs.forward(sender, now=NOW)
        assert isinstance(result, NotRewritten) and result.reason is Reason.LOCAL_DOMAIN, sender
    for sender in ("z@corp.example", "z@noshop.example", "z@shop.example.net"):
        assert isinstance(srs.forward(sender, now=NOW), Rewritten), sender


def test_always_rewrite_rewrites_the_srs_domain_too() -> None:
    srs = SRS("fwd.example", (b"k",), always_rewrite=True)
    made = srs.forward("bob@fwd.example", now=NOW)
    assert isinstance(made, Rewritten)
    assert srs.reverse(made.address, now=NOW) == Rewritten("bob@fwd.example")


def test_a_valid_srs_address_of_ours_is_not_rewritten_again() -> None:
    made = SRS_FWD.forward("alice@orig.example", now=NOW)
    assert isinstance(made, Rewritten)
    elsewhere = made.address.replace("@fwd.example", "@other.example")
    result = SRS_FWD.forward(elsewhere, now=NOW)
    assert isinstance(result, NotRewritten) and result.reason is Reason.ALREADY_REWRITTEN
    expired = SRS_FWD.forward("alice@orig.example", now=NOW - 30 * DAY)
    assert isinstance(expired, Rewritten)
    again = SRS_FWD.forward(expired.address.replace("@fwd.example", "@other.example"), now=NOW)
    assert isinstance(again, Rewritten) and again.address.startswith("SRS1=")


def test_three_hops_srs0_srs1_srs1_and_back() -> None:
    a = SRS("a.example", (b"secret-a",))
    b = SRS("b.example", (b"secret-b",))
    c = SRS("c.example", (b"secret-c",))
    at_a = a.forward("Alice@Orig.Example", now=NOW)
    assert isinstance(at_a, Rewritten)
    at_b = b.forward(at_a.address, now=NOW)
    assert isinstance(at_b, Rewritten)
    assert at_b.address.startswith("SRS1=") and "=a.example==" in at_b.address
    at_c = c.forward(at_b.address, now=NOW)
    assert isinstance(at_c, Rewritten)
    assert "=a.example==" in at_c.address and at_c.address.endswith("@c.example")
    # A bounce at c goes straight to a (b is skipped), and a reverses to the original.
    back_c = c.reverse(at_c.address.lower(), now=NOW)
    assert back_c == Rewritten(at_a.address.lower().replace("srs0", "SRS0", 1))
    assert isinstance(back_c, Rewritten)
    assert a.reverse(back_c.address, now=NOW) == Rewritten("alice@orig.example")
    back_b = b.reverse(at_b.address, now=NOW)
    assert back_b == Rewritten(at_a.address)
    # Another hop's secret does not verify.
    assert isinstance(b.reverse(at_c.address, now=NOW), NotRewritten)


def test_too_long_is_a_clear_refusal() -> None:
    sender = "x" * 200 + "@" + "d" * 40 + ".example"
    result = SRS_FWD.forward(sender, now=NOW)
    assert isinstance(result, NotRewritten) and result.reason is Reason.TOO_LONG
    assert "254" in result.detail and "RFC 5321" in result.detail
    roomy = SRS("fwd.example", (b"k",), max_length=1000)
    assert isinstance(roomy.forward(sender, now=NOW), Rewritten)
    huge = "y" * (MAX_INPUT + 1) + "@x.example"
    for result in (roomy.forward(huge), roomy.reverse("SRS0=" + huge)):
        assert isinstance(result, NotRewritten) and result.reason is Reason.TOO_LONG


@pytest.mark.parametrize(
    "sender", ["noat", "@orig.example", "alice@", "ali\nce@orig.example", "a\x00b@c.example"]
)
def test_malformed_senders(sender: str) -> None:
    result = SRS_FWD.forward(sender, now=NOW)
    assert isinstance(result, NotRewritten) and result.reason is Reason.MALFORMED


def test_parse_address_fields() -> None:
    assert parse_address("SRS0+HhHh=TT=orig.example=al=ice@fwd.example") == SRS0Address(
        "+", "HhHh", "TT", "orig.example", "al=ice", "fwd.example"
    )
    assert parse_address("SRS1=GGGG=a.example==HHHH=TT=o.example=u") == SRS1Address(
        "=", "GGGG", "a.example", "=HHHH=TT=o.example=u", ""
    )
    assert parse_address("plain@example.org") == NotRewritten(Reason.NOT_SRS, "not an SRS address")


def test_invalid_configuration_raises_once_at_construction() -> None:
    with pytest.raises(ValueError, match="secret"):
        SRS("fwd.example", ())
    with pytest.raises(ValueError, match="64"):
        SRS("fwd.example", (b"k" * 65,))
    with pytest.raises(ValueError, match="separator"):
        SRS("fwd.example", (b"k",), separator="#")
    with pytest.raises(ValueError, match="hash_length"):
        SRS("fwd.example", (b"k",), hash_length=28)
    with pytest.raises(ValueError, match="hash_min"):
        SRS("fwd.example", (b"k",), hash_length=4, hash_min=5)
    with pytest.raises(ValueError, match="domain"):
        SRS("a@b", (b"k",))


# -- the secret file -------------------------------------------------------------------------


def write_secret(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(content)
    path.chmod(mode)
    return path


def test_load_secrets_reads_postsrsd_files(tmp_path: Path) -> None:
    path = write_secret(tmp_path / "s", b"first one\r\n\n second\nthird")
    assert load_secrets(path) == (b"first one", b" second", b"third")


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_load_secrets_refuses_a_file_others_can_read_or_write(tmp_path: Path, mode: int) -> None:
    path = write_secret(tmp_path / "s", b"k\n", mode)
    with pytest.raises(SecretFileError, match="every user"):
        load_secrets(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\n\n", "no secret"), (b"k" * 65 + b"\n", "64"), (b"a\x00b\n", "NUL")],
)
def test_load_secrets_refuses_bad_content(tmp_path: Path, content: bytes, message: str) -> None:
    path = write_secret(tmp_path / "s", content)
    with pytest.raises(SecretFileError, match=message):
        load_secrets(path)


def test_load_secrets_refuses_missing_files_and_symlinks(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="cannot open"):
        load_secrets(tmp_path / "absent")
    target = write_secret(tmp_path / "real", b"k\n")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(SecretFileError):
        load_secrets(tmp_path / "link")


def test_create_secret_file_makes_a_private_random_secret_once(tmp_path: Path) -> None:
    path = tmp_path / "srs.secret"
    old_umask = os.umask(0)  # the file must be 0600 whatever the umask
    try:
        assert create_secret_file(path) is True
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (secret,) = load_secrets(path)
    assert len(secret) == 32
    assert create_secret_file(path) is False
    assert load_secrets(path) == (secret,)
    other = tmp_path / "other.secret"
    create_secret_file(other)
    assert load_secrets(other) != (secret,)


# -- properties and fuzzing ---------------------------------------------------------------------

LOCAL = st.text(alphabet=st.sampled_from("abcXYZ019.-_+=!#$%&'*/?^`{|}~"), min_size=1, max_size=30)
DOMAIN = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True)


@given(local=LOCAL, domain=DOMAIN, age=st.integers(0, 21), flip=st.booleans())
def test_forward_then_reverse_is_the_original(
    local: str, domain: str, age: int, flip: bool
) -> None:
    sender = f"{local}@{domain}"
    made = SRS_FWD.forward(sender, now=NOW - age * DAY)
    assert isinstance(made, Rewritten)
    assert made.address.startswith("SRS0=") and made.address.endswith("@fwd.example")
    address = made.address.swapcase() if flip else made.address
    back = SRS_FWD.reverse(address, now=NOW)
    assert back == Rewritten(sender.swapcase() if flip else sender)


@given(local=LOCAL, domain=DOMAIN)
def test_srs1_then_reverse_is_the_first_hop(local: str, domain: str) -> None:
    first = SRS("first.example", (b"one",)).forward(f"{local}@{domain}", now=NOW)
    assert isinstance(first, Rewritten)
    made = SRS_FWD.forward(first.address, now=NOW)
    assert isinstance(made, Rewritten) and made.address.startswith("SRS1=")
    assert SRS_FWD.reverse(made.address.lower(), now=NOW) == Rewritten(
        "SRS0" + first.address.lower()[4:].rpartition("@")[0] + "@first.example"
    )


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    for result in (SRS_FWD.forward(text, now=NOW), SRS_FWD.reverse(text, now=NOW)):
        assert isinstance(result, Rewritten | NotRewritten)
    parsed = parse_address(text)
    assert isinstance(parsed, SRS0Address | SRS1Address | NotRewritten)


SRS_LIKE = st.builds(
    lambda tag, sep, fields, domain: f"{tag}{sep}{'='.join(fields)}{domain}",
    st.sampled_from(["SRS0", "SRS1", "srs0", "Srs1", "SRS2", "SRS"]),
    st.sampled_from(["=", "-", "+", "", "x"]),
    st.lists(st.text(alphabet="aZ9=+/@.-\x00é", max_size=8), max_size=6),
    st.sampled_from(["", "@fwd.example", "@", "@@x"]),
)


@settings(max_examples=500)
@given(SRS_LIKE)
def test_srs_shaped_garbage_gets_a_typed_answer(text: str) -> None:
    result = SRS_FWD.reverse(text, now=NOW)
    if isinstance(result, Rewritten):  # only a correctly signed address reverses
        parsed = parse_address(text)
        assert isinstance(parsed, SRS0Address | SRS1Address)
    assert isinstance(SRS_FWD.forward(text, now=NOW), Rewritten | NotRewritten)
