"""Mail leaving us: SMTP client, MX lookup, DKIM signing, delivery status notifications."""
