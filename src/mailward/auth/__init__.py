"""Verdicts on one message and the address rewriting a mail server does for it.

``srs``: the Sender Rewriting Scheme (SRS0/SRS1, postsrsd-compatible) for forwarders.
"""
