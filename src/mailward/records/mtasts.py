"""MTA-STS: the ``_mta-sts`` TXT record and the policy file it announces.

RFC 8461 §3.1 (TXT record ``v=STSv1; id=…``), §3.2 (policy file: ``version``, ``mode``,
``mx`` and ``max_age`` lines; fields other than ``mx`` appear once; unknown fields are
ignored), §4.1 (MX host matching: a wildcard is exactly one leftmost label). Lines end in LF or
CRLF, as the §3.2 ABNF allows (erratum 6253).

SECURITY: input is hostile (a TXT record from any domain's DNS, a policy fetched from any
HTTPS server). The policy is read up to :data:`MAX_POLICY_OCTETS` (64 KiB, the cap senders
apply to the fetch); longer text is reported and the rest ignored. Both parsers are single
linear passes and never raise. Parsed TXT records are remembered by text in a bounded
memo (:mod:`._cache`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from mailward.codes import Diagnostic, Severity, define
from mailward.records._cache import by_text
from mailward.records._suggest import did_you_mean
from mailward.records._taglist import format_taglist, parse_taglist, version_problem

MAX_POLICY_OCTETS = 65536
MAX_AGE_LIMIT = 31557600  # one year, RFC 8461 §3.2
MAX_AGE_ADVISED = 604800  # one week
MODES = ("enforce", "testing", "none")
_FIELDS = ("version", "mode", "mx", "max_age")
_FIELD_MISTAKES = {"max-age": "max_age", "maxage": "max_age", "age": "max_age", "host": "mx"}
_LDH = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_MX = re.compile(rf"(\*\.)?{_LDH}(\.{_LDH})+\Z")
_LINE = re.compile(r"([^:\s]+)[ \t]*:[ \t]*(.*?)[ \t]*\Z")

RECORD_SYNTAX = define(
    "mta-sts.record-syntax",
    Severity.ERROR,
    "MTA-STS TXT record is malformed",
    why="Senders ignore a malformed record, so they never fetch the policy (or miss updates).",
    example="v=STSv1; id=2024-05-01",
    fix="Publish `v=STSv1; id=<1-32 letters or digits>` and change the id whenever the policy "
    "changes.",
    refs=("RFC 8461 §3.1",),
)
POLICY_SYNTAX = define(
    "mta-sts.policy-syntax",
    Severity.ERROR,
    "MTA-STS policy file is malformed",
    why="Senders discard a policy they cannot parse: mail delivery is not protected.",
    example="version: STSv1\nmode: enforce\nmx: mail.example.com, mx2.example.com\n",
    fix="Write one `key: value` per line: version: STSv1, mode, one mx: line per MX host, max_age.",
    refs=("RFC 8461 §3.2",),
)
TESTING_MODE = define(
    "mta-sts.testing-mode",
    Severity.INFO,
    "MTA-STS policy is in testing mode",
    why="In testing mode senders only report TLS failures; they still deliver without TLS.",
    example="version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n",
    fix="Once TLS reports show no failures, switch to `mode: enforce` and change the record's id.",
    refs=("RFC 8461 §5",),
)
MAX_AGE_SHORT = define(
    "mta-sts.max-age-short",
    Severity.WARNING,
    "MTA-STS policy max_age is shorter than a week",
    why="A short-lived cached policy lets an attacker who blocks the fetch strip TLS sooner.",
    example="version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 3600\n",
    fix="Set max_age to at least 604800 (a week); 1209600 or more once the policy is stable.",
    refs=("RFC 8461 §3.2", "RFC 8461 §10.2"),
)


@dataclass(frozen=True)
class MtaStsRecord:
    """The ``_mta-sts`` TXT record."""

    policy_id: str
    version: str = "STSv1"
    extensions: tuple[tuple[str, str], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    def to_text(self) -> str:
        return format_taglist([("v", self.version), ("id", self.policy_id), *self.extensions])


@by_text  # pure, and its record immutable: one parse per text
def parse_record(text: str) -> MtaStsRecord:
    """Parse the ``_mta-sts`` TXT value; never raises."""
    taglist = parse_taglist(text, syntax=RECORD_SYNTAX)
    problems = list(taglist.diagnostics)
    tags = {tag.name: tag for tag in taglist.tags}
    record = MtaStsRecord(
        policy_id=tags["id"].value if "id" in tags else "",
        version=tags["v"].value if "v" in tags else "STSv1",
        extensions=tuple((t.name, t.value) for t in taglist.tags if t.name not in ("v", "id")),
    )
    problem = version_problem(
        taglist, "STSv1", RECORD_SYNTAX, fix=replace(record, version="STSv1").to_text()
    )
    problems += [problem] if problem else []
    policy_id = tags.get("id")
    if policy_id is None:
        meant = [name for name, _ in record.extensions if name.lower() in ("id", "ids")]
        also = f" ({meant[0]}= is not id=: tag names are case-sensitive)" if meant else ""
        problems.append(RECORD_SYNTAX.at(f"id= is missing{also}", column=len(text) + 1))
    elif not re.fullmatch(r"[A-Za-z0-9]{1,32}", policy_id.value):
        cleaned = re.sub(r"[^A-Za-z0-9]", "", policy_id.value)[:32]
        problems.append(
            RECORD_SYNTAX.at(
                f"id={policy_id.value} must be 1 to 32 letters or digits",
                column=policy_id.column,
                tag="id",
                fix=replace(record, policy_id=cleaned).to_text() if cleaned else None,
            )
        )
    return replace(record, diagnostics=tuple(problems))


@dataclass(frozen=True)
class MtaStsPolicy:
    """The policy file served at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``."""

    mode: str
    max_age: int | None
    mx: tuple[str, ...] = ()
    version: str = "STSv1"
    extensions: tuple[tuple[str, str], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)

    def to_text(self) -> str:
        """Canonical policy: version, mode, mx lines, max_age, extensions; CRLF endings."""
        lines = [("version", self.version), ("mode", self.mode)]
        lines += [("mx", mx) for mx in self.mx]
        if self.max_age is not None:
            lines.append(("max_age", str(self.max_age)))
        return "".join(f"{key}: {value}\r\n" for key, value in [*lines, *self.extensions])


def mx_matches(pattern: str, hostname: str) -> bool:
    """Whether an MX host name matches a policy ``mx`` pattern (RFC 8461 §4.1).

    Comparison ignores case and a trailing dot; ``*.example.net`` matches exactly one more
    label (``mail.example.net``, not ``example.net`` nor ``a.b.example.net``).
    """
    pattern, hostname = pattern.rstrip(".").lower(), hostname.rstrip(".").lower()
    if pattern.startswith("*."):
        suffix = pattern[1:]
        first = hostname[: -len(suffix)]
        return hostname.endswith(suffix) and bool(first) and "." not in first
    return bool(pattern) and pattern == hostname


def parse_policy(text: str) -> MtaStsPolicy:
    """Parse a policy file (LF or CRLF lines); diagnostics carry ``line`` and ``column``."""
    problems: list[Diagnostic] = []
    if len(text) > MAX_POLICY_OCTETS:
        problems.append(
            POLICY_SYNTAX.at(
                f"the policy is {len(text)} characters; senders read at most "
                f"{MAX_POLICY_OCTETS}, and so does mailward",
                line=text.count("\n", 0, MAX_POLICY_OCTETS) + 1,
            )
        )
        text = text[:MAX_POLICY_OCTETS]
    if text.startswith("\ufeff"):
        problems.append(
            POLICY_SYNTAX.at("the policy starts with a byte-order mark", line=1, column=1)
        )
        text = text[1:]
    values: dict[str, tuple[str, int]] = {}
    mx: list[tuple[str, int]] = []
    lists: list[int] = []
    extensions: list[tuple[str, str]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        line = raw.removesuffix("\r")
        match = _LINE.match(line.lstrip(" \t"))
        if not line.strip():
            problems.append(
                POLICY_SYNTAX.at(
                    "empty line inside the policy", line=number, severity=Severity.WARNING
                )
            )
            continue
        if match is None:
            problems.append(
                POLICY_SYNTAX.at(f"{line.strip()!r} is not a `key: value` line", line=number)
            )
            continue
        key, value = match[1], match[2]
        column = len(line) - len(line.lstrip(" \t")) + 1
        if column > 1:
            problems.append(
                POLICY_SYNTAX.at(
                    "the line starts with whitespace",
                    line=number,
                    column=1,
                    severity=Severity.WARNING,
                )
            )
        if key == "mx":
            mx += [(part.strip(), number) for part in value.split(",")]
            if "," in value:
                lists.append(number)
        elif key in _FIELDS:
            if key in values:
                problems.append(
                    POLICY_SYNTAX.at(
                        f"{key} appears again (first on line {values[key][1]})",
                        line=number,
                        column=column,
                        tag=key,
                    )
                )
            else:
                values[key] = (value, number)
        else:
            extensions.append((key, value))
            meant = did_you_mean(key, _FIELDS, known_mistakes=_FIELD_MISTAKES)
            if meant:
                problems.append(
                    POLICY_SYNTAX.at(
                        f"unknown field {key!r} is ignored by senders (did you mean {meant!r}?)",
                        line=number,
                        column=column,
                        tag=key,
                    )
                )
    max_age_text = values.get("max_age", ("", 0))[0]
    max_age = int(max_age_text) if re.fullmatch(r"[0-9]{1,10}", max_age_text) else None
    policy = MtaStsPolicy(
        mode=values.get("mode", ("", 0))[0],
        max_age=max_age,
        mx=tuple(pattern for pattern, _ in mx),
        version=values.get("version", ("STSv1", 0))[0],
        extensions=tuple(extensions),
    )
    problems += _field_checks(policy, values, mx, len(lines) + 1)
    problems += [
        POLICY_SYNTAX.at(
            "mx lists hosts with commas; senders read the whole line as one host name: "
            "write one mx line per host",
            line=number,
            tag="mx",
            fix=policy.to_text(),
        )
        for number in lists
    ]
    return replace(policy, diagnostics=tuple(problems))


def _field_checks(
    policy: MtaStsPolicy,
    values: dict[str, tuple[str, int]],
    mx: list[tuple[str, int]],
    end: int,
) -> list[Diagnostic]:
    problems = []
    for key in ("version", "mode", "max_age"):
        if key not in values:
            problems.append(POLICY_SYNTAX.at(f"the {key} field is missing", line=end, tag=key))
    version, line = values.get("version", ("STSv1", 0))
    if version != "STSv1":
        fix = replace(policy, version="STSv1").to_text() if version.lower() == "stsv1" else None
        problems.append(
            POLICY_SYNTAX.at(
                f"version {version!r} must be STSv1", line=line, tag="version", fix=fix
            )
        )
    mode, line = values.get("mode", ("enforce", 0))
    if mode not in MODES:
        lowered = mode.lower()
        fix = replace(policy, mode=lowered).to_text() if lowered in MODES else None
        problems.append(
            POLICY_SYNTAX.at(
                f"mode {mode!r} must be enforce, testing or none", line=line, tag="mode", fix=fix
            )
        )
    elif mode == "testing":
        problems.append(
            TESTING_MODE.at("mode: testing only reports failures", line=line, tag="mode")
        )
    problems += _max_age_checks(policy, values)
    if not mx and mode != "none":
        problems.append(POLICY_SYNTAX.at("no mx line: no MX host can match", line=end, tag="mx"))
    for pattern, line in mx:
        problem = _mx_problem(pattern)
        if problem:
            cleaned = pattern.rstrip(".")
            fixed = None
            if _MX.match(cleaned):
                fixed = replace(policy, mx=tuple(cleaned if m == pattern else m for m in policy.mx))
            problems.append(
                POLICY_SYNTAX.at(
                    problem, line=line, tag="mx", fix=fixed.to_text() if fixed else None
                )
            )
    return problems


def _max_age_checks(policy: MtaStsPolicy, values: dict[str, tuple[str, int]]) -> list[Diagnostic]:
    text, line = values.get("max_age", ("", 0))
    if "max_age" not in values:
        return []
    if policy.max_age is None:
        return [
            POLICY_SYNTAX.at(
                f"max_age {text!r} is not a number of seconds", line=line, tag="max_age"
            )
        ]
    if policy.max_age > MAX_AGE_LIMIT:
        fix = replace(policy, max_age=MAX_AGE_LIMIT).to_text()
        return [
            POLICY_SYNTAX.at(
                f"max_age {policy.max_age} exceeds {MAX_AGE_LIMIT} (a year)",
                line=line,
                tag="max_age",
                fix=fix,
            )
        ]
    if policy.max_age < MAX_AGE_ADVISED:
        return [
            MAX_AGE_SHORT.at(
                f"max_age {policy.max_age} is less than a week ({MAX_AGE_ADVISED})",
                line=line,
                tag="max_age",
            )
        ]
    return []


def _mx_problem(pattern: str) -> str | None:
    if not pattern:
        return "an mx line is empty (or has an empty item after a comma)"
    if _MX.match(pattern):
        return None
    if pattern.endswith(".") and _MX.match(pattern.rstrip(".")):
        return f"mx {pattern!r} must not end with a dot"
    if "*" in pattern:
        return f"mx {pattern!r}: a wildcard is allowed only as the whole leftmost label ('*.')"
    return f"mx {pattern!r} is not a host name"
