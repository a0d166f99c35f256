"""Audit report formats: ``ReportFormat`` names them, each maps to a :class:`Reporter`.

A reporter is told about each domain as its audit finishes (``add``) and writes at the end
(``close``); streaming formats (``jsonl``) write at once. Results go to the output stream;
progress and talk go to stderr (the CLI's job).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import IO

from mailward.audit.auditor import DomainReport


class Reporter(ABC):
    def __init__(self, stream: IO[str], *, color: bool | None = None) -> None:
        self.stream = stream
        self.color = color
        self.reports: list[DomainReport] = []

    def add(self, report: DomainReport) -> None:
        self.reports.append(report)

    @abstractmethod
    def close(self) -> None:
        """Write whatever has not been written yet."""


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"
    HTML = "html"
    SARIF = "sarif"

    def reporter(self, stream: IO[str], *, color: bool | None = None) -> Reporter:
        from mailward.audit.formats import html, jsonfmt, sarif, text

        classes: dict[ReportFormat, type[Reporter]] = {
            ReportFormat.TEXT: text.TextReporter,
            ReportFormat.JSON: jsonfmt.JsonReporter,
            ReportFormat.JSONL: jsonfmt.JsonLinesReporter,
            ReportFormat.HTML: html.HtmlReporter,
            ReportFormat.SARIF: sarif.SarifReporter,
        }
        return classes[self](stream, color=color)
