"""The rule of tests/conftest.py: under CI=true a server test whose setup skips fails."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent.parent

SANDBOX_TESTS = """
import pytest

@pytest.fixture
def frobd():
    pytest.skip("frobd is not installed")

@pytest.fixture
def knot():  # stands in for the real fixture: the name alone marks its users
    pytest.skip("knotd is not installed")

@pytest.mark.server
def test_marked(frobd):
    pass

def test_uses_knot(knot):
    pass

def test_unmarked(frobd):
    pass

@pytest.mark.server
def test_optional_feature_in_the_body():
    pytest.skip("::1 cannot be bound")

@pytest.mark.server
@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False
"""


@pytest.fixture
def sandbox(pytester: pytest.Pytester) -> pytest.Pytester:
    for name in ("conftest.py", "knot.py"):
        pytester.makepyfile(**{name.removesuffix(".py"): (TESTS / name).read_text()})
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    server: needs a system server\n"
    )
    pytester.makepyfile(test_sandbox=SANDBOX_TESTS)
    return pytester


def test_in_ci_a_missing_server_fails(
    sandbox: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = sandbox.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(errors=2, skipped=2, xfailed=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [
            "*test_marked*CI=true: a server test may not be skipped (frobd is not installed)*",
            "*test_uses_knot*CI=true: a server test may not be skipped (knotd is not installed)*",
        ]
    )


@pytest.mark.parametrize("ci", [None, "false"])
def test_elsewhere_it_skips(
    sandbox: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    result = sandbox.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=4, xfailed=1)
    assert result.ret == 0
