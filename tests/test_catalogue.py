"""The code catalogue: every code documented, named by what it flags, docs/checks.md current."""

from __future__ import annotations

import re
from pathlib import Path

from mailward.codes import catalogue
from mailward.docs import render_checks

ROOT = Path(__file__).resolve().parents[1]
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*\Z")


def test_every_code_is_complete() -> None:
    codes = catalogue()
    assert len(codes) > 40
    for slug, code in codes.items():
        assert SLUG.match(slug), slug
        assert code.title and code.why and code.example and code.fix, slug
        assert code.refs and all(ref.startswith(("RFC ", "draft-")) for ref in code.refs), slug


def test_codes_name_the_fault_not_the_remedy() -> None:
    # ruff's rule: name what is flagged (spf.too-many-lookups, not spf.use-fewer-includes)
    for slug in catalogue():
        assert not re.search(r"\.(use|prefer|avoid|should)-", slug), slug


def test_docs_checks_md_is_current() -> None:
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == render_checks(), "run `make docs` to regenerate docs/checks.md"
