"""Fixtures for the DNSSEC setup tests: the external verifiers and BIND's key tools.

``ldns_verify_zone`` (Debian ldnsutils) and ``bind_dnssec`` (``dnssec-verify``,
``dnssec-signzone``, ``dnssec-keygen``: Debian bind9-utils) are server fixtures (see
``tests/conftest.py``): they skip when the program is missing, and fail under ``CI=true``.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def ldns_verify_zone() -> str:
    path = shutil.which("ldns-verify-zone")
    if path is None:
        pytest.skip("ldns-verify-zone is not installed (Debian package: ldnsutils)")
    return path


@pytest.fixture(scope="session")
def bind_dnssec() -> dict[str, str]:
    names = ("dnssec-verify", "dnssec-signzone", "dnssec-keygen")
    paths = {name: shutil.which(name) for name in names}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian package: bind9-utils)")
    return {name: path for name, path in paths.items() if path is not None}
