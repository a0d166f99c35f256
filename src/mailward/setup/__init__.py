"""setup/: making a domain right — keys, signed zones, and what to hand the registrar.

DNSSEC (issue 5, "Setup")
    :mod:`mailward.setup.dnssec_keys`
        Key pairs (ECDSAP256SHA256, ED25519, RSASHA256, …) as a CSK or a KSK+ZSK pair, written
        and read in BIND's ``Kzone.+alg+tag.key`` / ``.private`` format (private files 0600),
        so a user can move to or from BIND's and ldns's tools.
    :mod:`mailward.setup.signer`
        Zone signing (NSEC, or NSEC3 with no iterations and no salt per RFC 9276), SOA serial
        bump, DNSKEY/CDS/CDNSKEY, incremental re-signing that keeps fresh signatures, and a
        self-check of the output (validated with dnspython) before it is written.
    :mod:`mailward.setup.dnssec_status`
        When a signed zone's signatures expire and the next re-sign is due: for the cron job
        that must re-sign before they do.
    :mod:`mailward.setup._zonedata`
        The signer's zone reader: dnspython's meaning, without its tokenizer on the common
        record shapes (the speed of a signer is mostly the speed of its reader and writer).

The ``mailward dnssec`` command (:mod:`mailward.cli.dnssec`) is the user's way in.
"""
