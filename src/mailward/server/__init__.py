"""The long-running parts: services a mail server talks to while it moves mail.

``socketmap``: Postfix's socketmap protocol (netstrings), serving the SRS ``forward`` and
``reverse`` maps.
"""
