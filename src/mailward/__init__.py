"""mailward: make a mail domain trustworthy and keep it so.

>>> import mailward
>>> report = mailward.audit("example.com")          # live DNS
>>> report = mailward.audit("example.com", zones=["example.com.zone"])   # offline
>>> [f.code for f in report.findings if f.severity == "error"]
"""

from mailward.audit import Auditor, DomainReport, audit
from mailward.codes import Severity
from mailward.findings import Finding, Location

__all__ = ["Auditor", "DomainReport", "Finding", "Location", "Severity", "audit"]
__version__ = "0.1.0"
