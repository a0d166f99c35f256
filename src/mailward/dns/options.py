"""Parsing of resolver options given on the command line or in ``mailward.toml``.

A nameserver is given by address, never by name (resolving the resolver would need a resolver):
``192.0.2.53``, ``192.0.2.53:5353``, ``2001:db8::53``, ``[2001:db8::53]`` or
``[2001:db8::53]:5353``. The default port is 53 (RFC 1035 §4.2).

SECURITY: the text is user input; it is bounded by the address and port grammars below and any
other text is a :class:`~mailward.errors.UsageError` naming the forms that are accepted.
"""

from __future__ import annotations

import ipaddress
import re

from mailward.errors import UsageError

__all__ = ["DEFAULT_PORT", "format_nameserver", "parse_nameserver"]

DEFAULT_PORT = 53

_FORMS = "give an IP address: 192.0.2.53, 192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353"
_BRACKETED = re.compile(r"\[(?P<host>[^\[\]]+)\](?::(?P<port>[^:]*))?")


def parse_nameserver(text: str) -> tuple[str, int]:
    """Return ``(address, port)`` for ``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6.

    The address comes back in its canonical (compressed) form. Raises
    :class:`~mailward.errors.UsageError` on anything else.
    """
    value = text.strip()
    if not value:
        raise UsageError(f"empty nameserver: {_FORMS}")
    bracketed = _BRACKETED.fullmatch(value)
    if bracketed:
        host = _address(bracketed["host"], text, version=6)
        port = bracketed["port"]
        return host, DEFAULT_PORT if port is None else _port(port, text)
    if value.count(":") >= 2:
        return _address(value, text, version=6), DEFAULT_PORT
    if ":" in value:
        host, port = value.split(":")
        return _address(host, text, version=4), _port(port, text)
    return _address(value, text, version=4), DEFAULT_PORT


def format_nameserver(host: str, port: int) -> str:
    """The inverse of :func:`parse_nameserver`: ``192.0.2.53:53``, ``[2001:db8::53]:53``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _address(host: str, text: str, *, version: int) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"nameserver {text!r} is not an IP address: {_FORMS}") from None
    if address.version != version:
        # "2001:db8::53:53" parses as one IPv6 address, so a port after IPv6 needs brackets;
        # and "[192.0.2.53]" is not a form anyone means.
        hint = "put an IPv6 address in brackets to add a port" if version == 4 else _FORMS
        raise UsageError(f"nameserver {text!r}: {hint}")
    return str(address)


def _port(port: str, text: str) -> int:
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"nameserver {text!r}: the port must be a number from 1 to 65535")
    return int(port)
