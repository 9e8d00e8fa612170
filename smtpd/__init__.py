"""The SMTP receiver: aiosmtpd listeners plus mailrs policy (recipients, relay, spooling)."""
