"""Verdicts on one message and the address rewriting a mail server does for it.

``spf``: RFC 7208 ``check_host`` (every mechanism, macro and limit; a sans-I/O evaluator driven
over the Resolver protocol). ``dkim``: RFC 6376/8301/8463 signing and verification
(rsa-sha256, ed25519-sha256). ``dmarc``: RFC 9989 evaluation (tree walk, alignment, policy)
and the per-message record for RFC 9990 reports. ``results``: RFC 8601 Authentication-Results,
written and read tolerantly. ``arc``: RFC 8617 chain validation and sealing. ``srs``: the
Sender Rewriting Scheme (postsrsd-compatible).
"""
