"""The stub's UDP channels: random IDs, changing source ports, errors named, loops changed."""

from __future__ import annotations

import asyncio
from typing import cast

import dns.message
import dns.rrset
import pytest

from mailward.dns import _transport
from mailward.dns.options import parse_nameserver
from mailward.dns.stub import StubResolver
from mailward.errors import TempError


class Recorder(asyncio.DatagramProtocol):
    """Answers every A question with 192.0.2.1 and notes the source port and ID it came with."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        self.seen.append((addr[1], query.id))
        response = dns.message.make_response(query)
        name = query.question[0].name
        response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.1"))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


async def _recorder() -> tuple[Recorder, str, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
    return server, f"127.0.0.1:{transport.get_extra_info('sockname')[1]}", transport


async def test_source_ports_change_and_ids_do_not_repeat_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_transport, "MAX_USES", 3)
    monkeypatch.setattr(_transport, "CHANNELS", 2)
    server, address, transport = await _recorder()
    try:
        resolver = StubResolver([address], cache=False)
        for batch in range(6):
            names = [f"n{batch}-{i}.example" for i in range(4)]
            await asyncio.gather(*(resolver.query(name, "A") for name in names))
            in_flight = server.seen[-4:]
            assert len(set(in_flight)) == 4  # (port, ID) tells each question apart
        await resolver.aclose()
    finally:
        transport.close()
    ports = [port for port, _ in server.seen]
    assert len(server.seen) == 24
    assert max(ports.count(port) for port in set(ports)) <= 3  # a channel carries MAX_USES
    assert len(set(ports)) >= 8  # so the source port keeps changing (RFC 5452 §9.2)
    assert len({qid for _, qid in server.seen}) > 12  # random, not counted up from one value


async def test_a_burst_is_spread_over_more_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket holds at most MAX_IN_FLIGHT questions, so their replies fit its buffer."""
    monkeypatch.setattr(_transport, "CHANNELS", 1)
    monkeypatch.setattr(_transport, "MAX_IN_FLIGHT", 2)
    monkeypatch.setattr(_transport, "MAX_CHANNELS", 3)
    server, address, transport = await _recorder()
    try:
        resolver = StubResolver([address], cache=False)
        names = [f"burst{i}.example" for i in range(10)]
        await asyncio.gather(*(resolver.query(name, "A") for name in names))
        await resolver.aclose()
    finally:
        transport.close()
    ports = [port for port, _ in server.seen]
    assert len(set(ports)) == 3  # grown to MAX_CHANNELS, then shared
    assert len(server.seen) == 10


async def test_a_send_the_system_refuses_is_a_network_error_at_once() -> None:
    # The kernel refuses a datagram to the broadcast address from a socket without
    # SO_BROADCAST: nothing is sent, and the error belongs to this question.
    resolver = StubResolver(["255.255.255.255:53"], timeout=5.0, retries=0)
    with pytest.raises(TempError, match=r"network error \(Permission denied\)"):
        await asyncio.wait_for(resolver.query("example.com", "A"), 2.0)
    await resolver.aclose()


def test_one_resolver_serves_one_event_loop_after_another() -> None:
    resolver = StubResolver(["127.0.0.1:9"], cache=False)

    async def session() -> list[str]:
        _server, address, transport = await _recorder()  # a new server (port) per loop
        try:
            resolver.nameservers = [parse_nameserver(address)]
            answer = await resolver.query("example.com", "A")
            return [r.to_text() for r in answer.records]
        finally:
            await resolver.aclose()  # its owner's part, in the loop that used it
            transport.close()

    first = asyncio.run(session())
    second = asyncio.run(session())  # the first loop's sockets died with it
    assert first == second == ["192.0.2.1"]


async def test_sockets_closed_by_aclose_are_made_again() -> None:
    server, address, transport = await _recorder()
    try:
        resolver = StubResolver([address], cache=False)
        await resolver.query("a.example", "A")
        await resolver.aclose()
        await resolver.query("b.example", "A")
        await resolver.aclose()
    finally:
        transport.close()
    assert len(server.seen) == 2
