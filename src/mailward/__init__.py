"""mailward: make a mail domain trustworthy and keep it so."""

from mailward.codes import Severity
from mailward.findings import Finding, Location

__all__ = ["Finding", "Location", "Severity"]
__version__ = "0.1.0"
