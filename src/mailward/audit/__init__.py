"""The audit: checks that find what makes a mail domain spoofable or undeliverable.

``audit("example.com")`` is the one-shot form; :class:`Auditor` audits many domains over one
resolver. :mod:`mailward.audit.lint` checks zone files and records before they are published.
"""

from mailward.audit.auditor import Auditor, DomainReport, audit
from mailward.audit.context import AuditOptions

__all__ = ["AuditOptions", "Auditor", "DomainReport", "audit"]
