"""Pure parsers and writers for every record mailward reads; no I/O.

Each module offers ``parse(text) -> Record`` (never raises; problems are kept in
``Record.diagnostics``) and ``Record.to_text()`` writing the canonical form, with
``parse(record.to_text()) == record``.
"""
