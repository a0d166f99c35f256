"""The audit's checks, one module per area; each registers itself with ``@check(area)``."""
