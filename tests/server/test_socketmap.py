"""The socketmap service: netstring codec, replies Postfix expects, the asyncio server, fuzzing."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import socket
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailward.auth.srs import SRS, Rewritten
from mailward.errors import UsageError
from mailward.server.socketmap import (
    Endpoint,
    NetstringError,
    NetstringReader,
    Reply,
    SocketmapConnection,
    SocketmapServer,
    SRSMaps,
    Status,
    netstring,
)

ADDRESS = "127.0.0.62"
SRS_FWD = SRS("fwd.example", (b"tops3cr3t", b"old"))


def decode_all(data: bytes) -> list[bytes]:
    """Every netstring in ``data``, which must hold nothing else."""
    reader = NetstringReader(1 << 20)
    items = reader.feed(data)
    assert reader.error is None
    assert reader._buffer == b""  # nothing left over
    return [item for item in items if isinstance(item, bytes)]


# -- netstrings -------------------------------------------------------------------------------


def test_netstring_encoding() -> None:
    assert netstring(b"") == b"0:,"
    assert netstring(b"hello world!") == b"12:hello world!,"


def test_reader_whole_split_and_joined() -> None:
    stream = netstring(b"forward a@b") + netstring(b"") + netstring(b"reverse x,y:z")
    assert NetstringReader().feed(stream) == [b"forward a@b", b"", b"reverse x,y:z"]
    reader = NetstringReader()
    got: list[bytes | NetstringError] = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert got == [b"forward a@b", b"", b"reverse x,y:z"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x:abc,", "digits"),
        (b":abc,", "digits"),
        (b"3:abcd", "comma"),
        (b"-1:a,", "digits"),
        (b" 3:abc,", "digits"),
        (b"12345678901", "digits"),  # an 11-digit header can never be valid
        (b"2049:", "over 2048"),
    ],
)
def test_reader_errors_are_values_and_final(data: bytes, message: str) -> None:
    reader = NetstringReader()
    (error,) = reader.feed(data)
    assert isinstance(error, NetstringError) and message in error.detail
    assert reader.feed(netstring(b"ok")) == []  # framing is lost for good


def test_reader_waits_for_an_incomplete_netstring() -> None:
    reader = NetstringReader()
    assert reader.feed(b"1") == []
    assert reader.feed(b"0:0123456") == []
    assert reader.feed(b"789") == []
    assert reader.feed(b",") == [b"0123456789"]


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=300), max_size=8), st.data())
def test_reader_decodes_any_payloads_however_split(
    payloads: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(netstring(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = NetstringReader(300)
    got: list[bytes | NetstringError] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += reader.feed(stream[start:end])
    assert got == payloads


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=40), max_size=10))
def test_reader_never_raises_and_stays_bounded(chunks: list[bytes]) -> None:
    reader = NetstringReader(16)
    for chunk in chunks:
        for item in reader.feed(chunk):
            assert isinstance(item, bytes | NetstringError)
            if isinstance(item, bytes):
                assert len(item) <= 16
        assert len(reader._buffer) <= 16 + 12


# -- one connection ---------------------------------------------------------------------------


def test_replies_come_in_request_order() -> None:
    conn = SocketmapConnection(lambda name, key: Reply(Status.OK, f"{name}:{key}"))
    out = conn.receive(netstring(b"a 1") + netstring(b"b two words") + netstring(b"c ")[:-1])
    assert decode_all(out) == [b"OK a:1", b"OK b:two words"]
    assert decode_all(conn.receive(b",")) == [b"OK c:"]
    assert not conn.closed


def test_a_framing_error_gets_perm_and_closes() -> None:
    conn = SocketmapConnection(lambda name, key: Reply(Status.OK, key))
    out = conn.receive(netstring(b"a 1") + b"zz:")
    replies = decode_all(out)
    assert replies[0] == b"OK 1"
    assert replies[1].startswith(b"PERM ")
    assert conn.closed
    assert conn.receive(netstring(b"a 2")) == b""


def test_an_oversized_request_gets_perm_and_closes() -> None:
    conn = SocketmapConnection(lambda name, key: Reply(Status.OK, key), max_request=100)
    (reply,) = decode_all(conn.receive(b"101:" + b"x" * 101 + b","))
    assert reply.startswith(b"PERM ") and b"100" in reply
    assert conn.closed


def test_a_request_without_a_key_or_a_bug_is_answered() -> None:
    def broken(name: str, key: str) -> Reply:
        raise RuntimeError("bug")

    conn = SocketmapConnection(broken)
    out = conn.receive(netstring(b"nospace") + netstring(b"forward a@b"))
    assert decode_all(out) == [b"PERM a request is NAME SPACE KEY", b"TEMP internal error"]
    assert not conn.closed


# -- the SRS maps: what Postfix must see -------------------------------------------------------


def test_srs_maps_rewrite_and_reverse() -> None:
    maps = SRSMaps(SRS_FWD)
    reply = maps("forward", "alice@orig.example")
    assert reply.status is Status.OK
    assert reply.data.startswith("SRS0=") and reply.data.endswith("@fwd.example")
    assert maps("reverse", reply.data.lower()) == Reply(Status.OK, "alice@orig.example")
    assert maps.stats == {"rewritten": 2}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("forward", "bob@fwd.example"),  # the SRS domain itself
        ("forward", "noat"),
        ("forward", "x" * 300 + "@orig.example"),  # too long: sent on unchanged
        ("reverse", "alice@orig.example"),  # an ordinary recipient
        ("reverse", "SRS0=abcd=JR=orig.example=alice@fwd.example"),  # forged
        ("reverse", "SRS0=qiqM=I3=orig.example=alice@fwd.example"),  # expired
        ("reverse", "SRS0=@fwd.example"),  # malformed
        ("reverse", ""),
    ],
)
def test_not_rewritten_is_notfound_never_perm(name: str, key: str) -> None:
    # PERM (or TEMP) on a lookup makes Postfix defer the mail with 451; NOTFOUND lets it
    # go on (forward) or refuse the unknown SRS recipient itself (reverse).
    assert SRSMaps(SRS_FWD)(name, key) == Reply(Status.NOTFOUND)


def test_unknown_map_is_perm_and_map_names_are_configurable() -> None:
    assert SRSMaps(SRS_FWD)("sender", "a@b").status is Status.PERM
    maps = SRSMaps(SRS_FWD, forward="srsf", reverse="srsr")
    assert maps("srsf", "alice@orig.example").status is Status.OK
    assert maps("forward", "alice@orig.example").status is Status.PERM


def test_reply_encoding_keeps_the_address_octets() -> None:
    assert Reply(Status.NOTFOUND).encode() == b"9:NOTFOUND ,"
    assert Reply(Status.OK, "jos\udce9@x").encode() == b"9:OK jos\xe9@x,"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=10))
def test_fuzzed_bytes_get_wellformed_replies(chunks: list[bytes]) -> None:
    conn = SocketmapConnection(SRSMaps(SRS_FWD), max_request=64)
    out = b"".join(conn.receive(chunk) for chunk in chunks)
    for reply in decode_all(out):
        status = reply.split(b" ", 1)[0]
        assert status in (b"OK", b"NOTFOUND", b"TEMP", b"PERM")
        assert status != b"TEMP"  # no lookup may fail with an exception
        if status == b"PERM":
            assert conn.closed or not reply.startswith(b"PERM a netstring")


KEYS = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda t, s, f: f"{t}{s}{'='.join(f)}@fwd.example",
        st.sampled_from(["SRS0", "SRS1", "srs0"]),
        st.sampled_from("=+-"),
        st.lists(st.text(alphabet="aZ9=+/.", max_size=6), max_size=5),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["forward", "reverse"]), KEYS), max_size=8))
def test_fuzzed_lookups_one_reply_each(requests: list[tuple[str, str]]) -> None:
    conn = SocketmapConnection(SRSMaps(SRS_FWD))
    stream = b"".join(
        netstring(f"{name} {key}".encode("utf-8", "surrogateescape")) for name, key in requests
    )
    replies = decode_all(conn.receive(stream))
    assert len(replies) == len(requests)
    for reply in replies:
        assert reply == b"NOTFOUND " or reply.startswith(b"OK ")


# -- endpoints -------------------------------------------------------------------------------


def test_endpoint_parsing() -> None:
    assert Endpoint.parse("unix:/run/x") == Endpoint("unix", path="/run/x")
    assert Endpoint.parse("/run/x") == Endpoint("unix", path="/run/x")
    assert Endpoint.parse("inet:127.0.0.1:10003") == Endpoint("inet", host="127.0.0.1", port=10003)
    assert Endpoint.parse("127.0.0.1:10003").port == 10003
    assert Endpoint.parse("inet:[::1]:25") == Endpoint("inet", host="::1", port=25)
    assert str(Endpoint.parse("inet:[::1]:25")) == "inet:[::1]:25"
    for bad in ("unix:", "inet:host", "inet::25", "inet:h:99999", "h:port"):
        with pytest.raises(UsageError):
            Endpoint.parse(bad)


# -- the asyncio server ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(endpoint: Endpoint, **options: object) -> AsyncIterator[SocketmapServer]:
    server = SocketmapServer(SRSMaps(SRS_FWD), endpoint, **options)  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def connect(server: SocketmapServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    endpoint = Endpoint.parse(server.address)
    if endpoint.kind == "unix":
        return await asyncio.open_unix_connection(endpoint.path)
    return await asyncio.open_connection(endpoint.host, endpoint.port)


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    writer.write(netstring(request))
    await writer.drain()
    header = await reader.readuntil(b":")
    payload = await reader.readexactly(int(header[:-1]) + 1)
    assert payload.endswith(b",")
    return payload[:-1]


async def test_tcp_server_answers_many_lookups_on_one_connection() -> None:
    async with serving(Endpoint("inet", host=ADDRESS, port=0)) as server:
        reader, writer = await connect(server)
        for n in range(200):
            reply = await ask(reader, writer, f"forward user{n}@orig.example".encode())
            assert reply.startswith(b"OK SRS0=")
            back = await ask(reader, writer, b"reverse " + reply[3:].lower())
            assert back == f"OK user{n}@orig.example".encode()
        writer.close()


async def test_unix_socket_permissions(tmp_path: Path) -> None:
    path = tmp_path / "srs.sock"
    group = grp.getgrgid(os.getgid()).gr_name
    async with serving(Endpoint("unix", path=str(path)), socket_group=group) as server:
        info = path.stat()
        assert stat.S_ISSOCK(info.st_mode)
        assert stat.S_IMODE(info.st_mode) == 0o660
        assert info.st_gid == os.getgid()
        reader, writer = await connect(server)
        assert (await ask(reader, writer, b"reverse nobody@x")) == b"NOTFOUND "
        writer.close()
    assert not path.exists()  # removed on close


async def test_unix_socket_takeover_rules(tmp_path: Path) -> None:
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(stale))  # bound, never listening: what a killed server leaves
    async with serving(Endpoint("unix", path=str(stale))):
        with pytest.raises(UsageError, match="another server"):
            await SocketmapServer(SRSMaps(SRS_FWD), Endpoint("unix", path=str(stale))).start()
    regular = tmp_path / "file"
    regular.write_text("keep me")
    with pytest.raises(UsageError, match="not a socket"):
        await SocketmapServer(SRSMaps(SRS_FWD), Endpoint("unix", path=str(regular))).start()
    assert regular.read_text() == "keep me"


async def test_connections_are_bounded() -> None:
    async with serving(Endpoint("inet", host=ADDRESS, port=0), max_connections=3) as server:
        clients = [await connect(server) for _ in range(3)]
        for reader, writer in clients:
            assert (await ask(reader, writer, b"reverse a@b")) == b"NOTFOUND "
        reader, writer = await connect(server)
        writer.write(netstring(b"reverse a@b"))
        assert await asyncio.wait_for(reader.read(100), 5) == b""  # refused: closed at once
        assert server.refused == 1
        clients[0][1].close()
        await asyncio.sleep(0.1)
        reader, writer = await connect(server)  # a slot is free again
        assert (await ask(reader, writer, b"reverse a@b")) == b"NOTFOUND "


async def test_idle_connections_are_closed() -> None:
    async with serving(Endpoint("inet", host=ADDRESS, port=0), idle_timeout=0.3) as server:
        reader, writer = await connect(server)
        assert (await ask(reader, writer, b"reverse a@b")) == b"NOTFOUND "
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(100), 5) == b""
        assert 0.2 < time.monotonic() - started < 3


async def test_oversized_request_is_refused_without_buffering_it() -> None:
    async with serving(Endpoint("inet", host=ADDRESS, port=0), max_request=128) as server:
        reader, writer = await connect(server)
        writer.write(b"1000000000:" + b"x" * 1000)
        data = await asyncio.wait_for(reader.read(1000), 5)
        assert data == b"28:PERM request over 128 octets,"
        assert await asyncio.wait_for(reader.read(100), 5) == b""


async def test_close_ends_open_connections() -> None:
    server = SocketmapServer(SRSMaps(SRS_FWD), Endpoint("inet", host=ADDRESS, port=0))
    await server.start()
    reader, writer = await connect(server)
    assert (await ask(reader, writer, b"forward a@b.example")).startswith(b"OK ")
    await asyncio.wait_for(server.close(), 5)
    assert await asyncio.wait_for(reader.read(100), 5) == b""
    assert not server.clients


async def test_reload_by_swapping_the_rewriter() -> None:
    maps = SRSMaps(SRS_FWD)
    server = SocketmapServer(maps, Endpoint("inet", host=ADDRESS, port=0))
    await server.start()
    try:
        reader, writer = await connect(server)
        before = await ask(reader, writer, b"forward a@b.example")
        maps.srs = SRS_FWD.with_secrets([b"fresh", b"tops3cr3t"])
        after = await ask(reader, writer, b"forward a@b.example")
        assert before != after  # the same connection sees the new first secret
        assert (await ask(reader, writer, b"reverse " + before[3:])) == b"OK a@b.example"
        assert isinstance(maps.srs.reverse(after[3:].decode()), Rewritten)
    finally:
        await server.close()
