"""Interop with Debian's postsrsd 1.10, both ways: same secrets, same addresses, same verdicts.

Two daemons on 127.0.0.61 with one secret file (``interop-one`` signs, ``interop-two`` also
verifies): the defaults (``=``, 4-character hashes), and ``-a+ -n6 -N4 -X…`` (separator
``+``, 6-character hashes accepted from 4, local domains). Each test asks postsrsd and
mailward the same question on the same day and compares.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from postsrsd_daemon import Postsrsd, PostsrsdClient

from mailward.auth.srs import SRS, NotRewritten, Reason, Rewritten, timestamp

DAY = 86400
SECRETS = (b"interop-one", b"interop-two")
DOMAIN = "fwd.test"

# postsrsd's reverse messages, as the verdicts mailward gives for the same address.
MESSAGES = {
    "Not an SRS address.": {Reason.NOT_SRS},
    "Hash invalid in SRS address.": {Reason.HASH_INVALID},
    "Hash too short in SRS address.": {Reason.HASH_TOO_SHORT},
    "Time stamp out of date.": {Reason.EXPIRED, Reason.BAD_TIMESTAMP},  # 1.10: also bad length
    "Bad base32 character in timestamp.": {Reason.BAD_TIMESTAMP},
    "No hash in SRS0 address.": {Reason.MALFORMED},
    "No timestamp in SRS0 address.": {Reason.MALFORMED},
    "No host in SRS0 address.": {Reason.MALFORMED},
    "No user in SRS0 address.": {Reason.MALFORMED},
    "No hash in SRS1 address.": {Reason.MALFORMED},
    "No host in SRS1 address.": {Reason.MALFORMED},
    "No user in SRS1 address.": {Reason.MALFORMED},
}

SENDERS = [
    "alice@orig.test",
    "Alice.Smith@Orig.Test",
    "ALICE@ORIG.TEST",
    "bounce-123+tag=x@lists.example.org",
    "a b@quoted.test",
    "o'brien@irish.test",
    "SRS0=abcd=AA=first.test=bob@other.test",  # someone else's SRS0: becomes SRS1
    "srs0+XyZw=7Q=first.test=bob@other.test",
    "SRS1=abcd=first.test==HHHH=TT=orig.test=carol@other.test",  # someone else's SRS1
    "dave@fwd.test",  # the SRS domain: not rewritten
    "noat",
]

SRS_DEFAULT = SRS(DOMAIN, SECRETS)
SRS_ALT = SRS(
    DOMAIN,
    SECRETS,
    separator="+",
    hash_length=6,
    hash_min=4,
    local_domains=("shop.test", ".corp.test"),
)


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("postsrsd") / "secret"
    path.write_bytes(b"\n".join(SECRETS) + b"\n")
    path.chmod(0o600)
    return path


def run_daemon(
    secret_file: Path, tmp_path_factory: pytest.TempPathFactory, extra: tuple[str, ...] = ()
) -> Iterator[PostsrsdClient]:
    daemon = Postsrsd(secret_file, DOMAIN, tmp_path_factory.mktemp("postsrsd-run"), extra=extra)
    daemon.start()
    client = daemon.client()
    try:
        yield client
    finally:
        client.close()
        daemon.stop()


@pytest.fixture(scope="module")
def peer(
    postsrsd: str, secret_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostsrsdClient]:
    yield from run_daemon(secret_file, tmp_path_factory)


@pytest.fixture(scope="module")
def peer_alt(
    postsrsd: str, secret_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostsrsdClient]:
    yield from run_daemon(
        secret_file, tmp_path_factory, ("-a+", "-n6", "-N4", "-Xshop.test,.corp.test")
    )


def same_day(check: object) -> None:
    """Skip the rare run that straddles midnight UTC (the two sides stamp different days)."""
    if timestamp(time.time()) != timestamp(time.time() - 5):
        pytest.skip("the day changed during the test")


def assert_same_verdict(peer_answer: tuple[int, str], ours: object, direction: str) -> None:
    code, text = peer_answer
    if isinstance(ours, Rewritten):
        assert (code, text) == (200, ours.address), direction
        return
    assert isinstance(ours, NotRewritten), direction
    if direction == "reverse":
        assert code == 500, (peer_answer, ours)
        assert ours.reason in MESSAGES[text], (peer_answer, ours)
    else:  # postsrsd answers 200 with the same address for its own domain, 500 otherwise
        assert code == 500 or ours.reason is Reason.LOCAL_DOMAIN, (peer_answer, ours)


# -- forward: the same address from both -------------------------------------------------------


@pytest.mark.parametrize("sender", SENDERS)
def test_forward_writes_the_same_address(peer: PostsrsdClient, sender: str) -> None:
    ours = SRS_DEFAULT.forward(sender)
    assert_same_verdict(peer.forward(sender), ours, "forward")
    same_day(ours)


@pytest.mark.parametrize(
    "sender", [*SENDERS, "x@shop.test", "x@a.corp.test", "x@corp.test", "x@shop.test.net"]
)
def test_forward_same_with_options(peer_alt: PostsrsdClient, sender: str) -> None:
    ours = SRS_ALT.forward(sender)
    assert_same_verdict(peer_alt.forward(sender), ours, "forward")


def test_a_valid_address_of_ours_is_not_rewritten_by_either(peer: PostsrsdClient) -> None:
    made = SRS_DEFAULT.forward("alice@orig.test")
    assert isinstance(made, Rewritten)
    elsewhere = made.address.replace("@fwd.test", "@elsewhere.test")
    assert peer.forward(elsewhere) == (500, "Already rewritten")
    ours = SRS_DEFAULT.forward(elsewhere)
    assert isinstance(ours, NotRewritten) and ours.reason is Reason.ALREADY_REWRITTEN


# -- reverse, both ways ----------------------------------------------------------------------


def case_variants(address: str) -> list[str]:
    return [address, address.lower(), address.upper()]


@pytest.mark.parametrize("sender", ["alice@orig.test", "Bob.Jones@Orig.Test", "a b@quoted.test"])
def test_postsrsd_reverses_mailward_srs0(peer: PostsrsdClient, sender: str) -> None:
    made = SRS_DEFAULT.forward(sender)
    assert isinstance(made, Rewritten) and made.address.startswith("SRS0=")
    for variant in case_variants(made.address):
        code, back = peer.reverse(variant)
        assert code == 200 and back.lower() == sender.lower(), variant
    assert peer.reverse(made.address) == (200, sender)


@pytest.mark.parametrize("sender", ["alice@orig.test", "Bob.Jones@Orig.Test"])
def test_mailward_reverses_postsrsd_srs0(peer: PostsrsdClient, sender: str) -> None:
    code, made = peer.forward(sender)
    assert code == 200 and made.startswith("SRS0=")
    for variant in case_variants(made):
        ours = SRS_DEFAULT.reverse(variant)
        assert isinstance(ours, Rewritten) and ours.address.lower() == sender.lower(), variant
        assert_same_verdict(peer.reverse(variant), ours, "reverse")


def test_srs1_both_ways(peer: PostsrsdClient) -> None:
    first = SRS("first.test", (b"first-hop",)).forward("carol@orig.test")
    assert isinstance(first, Rewritten)
    code, by_peer = peer.forward(first.address)
    ours = SRS_DEFAULT.forward(first.address)
    assert ours == Rewritten(by_peer) and code == 200 and by_peer.startswith("SRS1=")
    for variant in case_variants(by_peer):
        mine = SRS_DEFAULT.reverse(variant)
        assert isinstance(mine, Rewritten), variant
        assert mine.address.lower() == first.address.lower()
        assert peer.reverse(variant) == (200, mine.address)


def test_options_both_ways(peer_alt: PostsrsdClient) -> None:
    code, by_peer = peer_alt.forward("alice@orig.test")
    assert code == 200 and by_peer.startswith("SRS0+") and len(by_peer.split("=")[0]) == 11
    assert SRS_ALT.reverse(by_peer.upper()) == Rewritten("ALICE@ORIG.TEST")
    short = by_peer.replace(by_peer[5:11], by_peer[5:9])  # a 4-character hash is enough
    assert SRS_ALT.reverse(short) == Rewritten("alice@orig.test")
    assert peer_alt.reverse(short) == (200, "alice@orig.test")


@pytest.mark.parametrize(("age", "ok"), [(0, True), (21, True), (22, False), (-1, False)])
def test_age_limits_agree(peer: PostsrsdClient, age: int, ok: bool) -> None:
    made = SRS_DEFAULT.forward("alice@orig.test", now=time.time() - age * DAY)
    assert isinstance(made, Rewritten)
    ours = SRS_DEFAULT.reverse(made.address)
    assert isinstance(ours, Rewritten) is ok
    answer = peer.reverse(made.address)
    assert_same_verdict(answer, ours, "reverse")
    if not ok:
        assert answer == (500, "Time stamp out of date.")


def test_forged_hashes_are_refused_by_both(peer: PostsrsdClient) -> None:
    made = SRS_DEFAULT.forward("alice@orig.test")
    assert isinstance(made, Rewritten)
    hash_ = made.address[5:9]
    for forged in ("AAAA", "zzzz", hash_[::-1], hash_[:3] + ("A" if hash_[3] != "A" else "B")):
        if forged.lower() == hash_.lower():
            continue
        address = made.address.replace(hash_, forged, 1)
        ours = SRS_DEFAULT.reverse(address)
        assert isinstance(ours, NotRewritten) and ours.reason is Reason.HASH_INVALID
        assert peer.reverse(address) == (500, "Hash invalid in SRS address.")
    other = SRS(DOMAIN, (b"not-our-secret",)).forward("alice@orig.test")
    assert isinstance(other, Rewritten)
    assert peer.reverse(other.address) == (500, "Hash invalid in SRS address.")


def test_secret_rotation_across_implementations(peer: PostsrsdClient) -> None:
    # mailward signing with postsrsd's second secret: postsrsd verifies it.
    made = SRS(DOMAIN, (SECRETS[1],)).forward("alice@orig.test")
    assert isinstance(made, Rewritten)
    assert peer.reverse(made.address) == (200, "alice@orig.test")
    # postsrsd signing with its first: mailward verifies with it second in line.
    code, by_peer = peer.forward("alice@orig.test")
    assert code == 200
    assert SRS(DOMAIN, (b"brand-new", SECRETS[0])).reverse(by_peer) == Rewritten("alice@orig.test")
    assert isinstance(SRS(DOMAIN, (b"brand-new",)).reverse(by_peer), NotRewritten)


# -- differential fuzzing ----------------------------------------------------------------------

FIELD = st.text(alphabet="abcXYZ0129=+-/._", min_size=1, max_size=8)
ADDRESSES = st.one_of(
    st.builds(
        lambda tag, sep, fields, host: f"{tag}{sep}{'='.join(fields)}@{host}",
        st.sampled_from(["SRS0", "SRS1", "srs0", "sRs1"]),
        st.sampled_from("=+-"),
        st.lists(FIELD, min_size=1, max_size=5),
        st.sampled_from(["fwd.test", "other.test"]),
    ),
    st.builds(
        lambda stamp_age, user, host, flip, cut: (stamp_age, user, host, flip, cut),
        st.integers(-3, 25),
        st.text(alphabet="abcXYZ019.-_+=", min_size=1, max_size=12),
        st.sampled_from(["orig.test", "Mixed.Case.Test"]),
        st.booleans(),
        st.integers(0, 5),
    ).map(lambda t: _signed(*t)),
)


def _signed(age: int, user: str, host: str, flip: bool, cut: int) -> str:
    """A real SRS0 address of ours, aged, maybe case-flipped, maybe with its hash cut."""
    made = SRS_DEFAULT.forward(f"{user}@{host}", now=time.time() - age * DAY)
    assert isinstance(made, Rewritten)
    address = made.address.swapcase() if flip else made.address
    return address[:5] + address[5 + cut :] if cut else address


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ADDRESSES)
def test_reverse_agrees_with_postsrsd_on_generated_addresses(
    peer: PostsrsdClient, address: str
) -> None:
    assert_same_verdict(peer.reverse(address), SRS_DEFAULT.reverse(address), "reverse")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(alphabet="abcXYZ0129.-_+=!#$&'*/?^`{|}~ ", min_size=1, max_size=20),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\.[a-z]{2,5}", fullmatch=True),
)
def test_forward_agrees_with_postsrsd_on_generated_senders(
    peer: PostsrsdClient, local: str, domain: str
) -> None:
    sender = f"{local}@{domain}"
    assert_same_verdict(peer.forward(sender), SRS_DEFAULT.forward(sender), "forward")
