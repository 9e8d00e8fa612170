"""The mailrs IMAP4rev1 server: an asyncio protocol loop over the mailrs store and index.

Modules by concern: ``framing`` reads bounded command bytes (lines and literals),
``parser`` turns them into command objects, ``commands`` runs them against a
``session`` through the ``backend`` (storage in threads), ``responses`` writes the
replies, ``errors`` maps exceptions to BAD/NO in one place and ``server`` starts it all.
"""
