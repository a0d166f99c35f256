"""Generate ``docs/checks.md`` from the code catalogue: ``python -m mailward.docs [OUT]``.

Each code gets What / Why / Example / Fix / References (ruff's rule pages are the model); a
test fails when the committed file differs from what this renders, so no code ships
undocumented.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mailward.codes import Code, catalogue

HEADER = """\
# Checks

Every finding mailward reports has a stable code. A code never changes meaning once released;
a retired code is never reused. This page is generated from the catalogue in the source
(`python -m mailward.docs docs/checks.md`); `mailward explain CODE` prints one entry.

Severities: **error** (breaks mail or its protection), **warning** (weakens it or will break
it), **info** (worth knowing), **pass** (checked and right).
"""


CHECKS_PAGE = "docs/checks.md"


def anchor(slug: str) -> str:
    """The Markdown heading anchor for a code (GitHub style)."""
    return slug.replace(".", "").lower()


def doc_link(slug: str) -> str:
    """Where a code is documented: ``docs/checks.md#dmarcunknown-tag``."""
    return f"{CHECKS_PAGE}#{anchor(slug)}"


def render_code(code: Code) -> str:
    example = "\n".join(f"    {line}" for line in code.example.splitlines())
    refs = ", ".join(code.refs)
    return (
        f"## {code.slug}\n\n"
        f"**{code.title}** · severity: {code.severity.value} · since {code.since}\n\n"
        f"**Why it matters.** {code.why}\n\n"
        f"**Example.**\n\n{example}\n\n"
        f"**Fix.** {code.fix}\n\n"
        f"**References.** {refs}\n"
    )


def render_checks() -> str:
    codes = catalogue().values()
    areas: dict[str, list[Code]] = {}
    for code in codes:
        areas.setdefault(code.slug.split(".")[0], []).append(code)
    index = "\n".join(
        f"- **{area}**: " + " · ".join(f"[{c.slug}](#{anchor(c.slug)})" for c in members)
        for area, members in areas.items()
    )
    body = "\n".join(render_code(code) for code in codes)
    return f"{HEADER}\n{index}\n\n{body}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_checks()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
