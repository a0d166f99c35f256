"""Conformance: every test of the RFC 7208 suite (pyspf 2.0.14's ``rfc7208-tests.yml``).

The suite is downloaded at test time (see ``rfc7208.py``); without it the test skips, and
under ``CI=true`` fails (``rfc7208_suite`` is in ``SERVER_FIXTURES``).
"""

from __future__ import annotations

import pytest
from rfc7208 import Case, fetch_suite, load_cases

from mailward.auth.spf import SpfResult, check_mail_from

SUITE_SIZE = 203  # tests in release 2014.04; a loader that loses some must not pass


@pytest.fixture(scope="session")
def rfc7208_suite() -> list[Case]:
    try:
        return load_cases(fetch_suite())
    except RuntimeError as error:
        pytest.skip(f"the RFC 7208 suite could not be fetched: {error}")


def _failure(case: Case, got: SpfResult) -> str | None:
    if got.result.value not in case.results:
        return f"{case.id}: {got.result} not in {case.results} ({got.reason})"
    if case.explanation is not None and got.result.value == "fail":
        expected = None if case.explanation == "DEFAULT" else case.explanation
        if got.explanation != expected:
            return f"{case.id}: explanation {got.explanation!r} != {expected!r}"
    return None


async def test_rfc7208_suite(rfc7208_suite: list[Case]) -> None:
    assert len(rfc7208_suite) == SUITE_SIZE
    failures: list[str] = []
    for case in rfc7208_suite:
        got = await check_mail_from(case.host, case.mailfrom, case.helo, case.zone)
        problem = _failure(case, got)
        if problem is not None:
            failures.append(problem)
    passed = len(rfc7208_suite) - len(failures)
    assert not failures, f"{passed}/{len(rfc7208_suite)} passed:\n" + "\n".join(failures)
