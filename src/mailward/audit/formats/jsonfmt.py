"""JSON reports (schema ``mailward.audit/1``, docs/json.md): one object for one domain, a
list for several; ``jsonl`` streams one object per line as each domain finishes."""

from __future__ import annotations

import json

from mailward.audit.auditor import DomainReport
from mailward.audit.formats import Reporter


class JsonReporter(Reporter):
    def close(self) -> None:
        documents = [r.to_json() for r in self.reports]
        body = documents[0] if len(documents) == 1 else documents
        self.stream.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")


class JsonLinesReporter(Reporter):
    def add(self, report: DomainReport) -> None:
        self.stream.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass
