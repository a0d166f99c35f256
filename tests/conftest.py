"""Shared test fixtures, and the rule for tests that need a real server.

SERVER TESTS
    A test that needs a system server (knotd now; postfix, opendkim later) is marked
    ``@pytest.mark.server`` (tests using a fixture named in ``SERVER_FIXTURES`` are marked
    automatically). Its fixtures skip when the server is not installed, so a developer without
    it still gets a green run, with the reason listed by ``-ra``.

    Under ``CI=true`` that skip is a failure instead: CI must never pass by not testing. The
    rule applies to skips in a server test's *setup* (its fixtures, ``skipif`` marks); a skip
    in the test body stays a skip, for optional features of the machine (IPv6 loopback).

    To add a server: write a session fixture that calls ``pytest.skip("<why>")`` when the
    binary is missing, add its name to ``SERVER_FIXTURES``, and list the Debian package in the
    Makefile.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from knot import KnotServer, knot_binaries

if TYPE_CHECKING:
    from dnssec_hierarchy import SignedHierarchy

pytest_plugins = ["pytester"]  # for test_server_marker.py, which checks the rule below

SERVER_FIXTURES = {
    "knot",
    "audit_knot",
    "chromium",
    "postsrsd",
    "postfix",
    "dnssec_knot",
    "ldns_verify_zone",  # tests/setup/conftest.py (ldnsutils)
    "bind_dnssec",  # tests/setup/conftest.py (bind9-utils)
    "rfc7208_suite",  # tests/auth/test_spf_eval_rfc7208.py (pip download of pyspf's sdist)
    "opendkim",  # tests/auth/test_dkim_opendkim.py (Debian package opendkim)
}
ZONES = Path(__file__).parent / "dns" / "zones"
AUDIT_ZONES = Path(__file__).parent / "audit" / "zones"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if (
        report.when == "setup"
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("server") is not None
        and in_ci()
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"CI=true: a server test may not be skipped ({reason})"
    return report


@pytest.fixture(scope="session")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """Knot DNS serving every ``tests/dns/zones/*.zone`` on 127.0.0.53 (and ::1 if usable)."""
    if knot_binaries() is None:
        pytest.skip("knotd is not installed (Debian package: knot)")
    server = KnotServer(sorted(ZONES.glob("*.zone")), tmp_path_factory.mktemp("knot"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def audit_knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """Knot serving the audit scenarios, every ``tests/audit/zones/*.zone``, on 127.0.0.54."""
    if knot_binaries() is None:
        pytest.skip("knotd is not installed (Debian package: knot)")
    server = KnotServer(
        sorted(AUDIT_ZONES.glob("*.zone")), tmp_path_factory.mktemp("audit-knot"), "127.0.0.54"
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dnssec_knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedHierarchy]:
    """Knot serving the private signed hierarchy of ``tests/dnssec_hierarchy.py`` (root,
    example. and a zone per DNSSEC case) on 127.0.0.57, with its own trust anchor."""
    # imported here: the sandboxed copies of this file (test_server_marker.py) have no such module
    from dnssec_hierarchy import ADDRESS, SignedHierarchy, build, signers_missing

    if knot_binaries() is None:
        pytest.skip("knotd is not installed (Debian package: knot)")
    missing = signers_missing()
    if missing is not None:
        pytest.skip(missing)
    work = tmp_path_factory.mktemp("dnssec")
    (work / "signed").mkdir()
    (work / "knot").mkdir()
    hierarchy = build(work / "signed")
    server = KnotServer(hierarchy.zone_files, work / "knot", ADDRESS)
    server.start()
    try:
        yield SignedHierarchy(server, hierarchy)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's ``chromium`` (run headless to render the HTML report)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed (Debian package: chromium)")
    return path


def _program(name: str) -> str | None:
    """``name`` on PATH or in an sbin folder (root's tools are not on every PATH)."""
    found = shutil.which(name)
    if found is None:
        found = next(
            (str(p) for p in (Path("/usr/sbin", name), Path("/sbin", name)) if p.exists()), None
        )
    return found


@pytest.fixture(scope="session")
def postsrsd() -> str:
    """The path of Debian's ``postsrsd`` 1.x, the SRS peer of the interop tests."""
    path = _program("postsrsd")
    if path is None:
        pytest.skip("postsrsd is not installed (Debian package: postsrsd)")
    return path


@pytest.fixture(scope="session")
def postfix() -> dict[str, str]:
    """The paths of Postfix's ``postfix``, ``postconf`` and ``smtp-sink`` (package postfix)."""
    paths = {name: _program(name) for name in ("postfix", "postconf", "smtp-sink")}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian package: postfix)")
    return {name: path for name, path in paths.items() if path is not None}


@pytest.fixture(scope="session")
def opendkim() -> str:
    """The path of Debian's ``opendkim`` (its test mode, ``-t FILE``, signs and verifies)."""
    path = _program("opendkim")
    if path is None:
        pytest.skip("opendkim is not installed (Debian package: opendkim)")
    return path
