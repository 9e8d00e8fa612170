"""SMTP replies with enhanced status codes (RFC 3463), named once and used everywhere."""

OK_RCPT = "250 2.1.5 Recipient OK"
QUEUED = "250 2.0.0 Ok: queued as {queue_id}"
BAD_ADDRESS_SYNTAX = "553 5.1.3 Bad recipient address syntax"
NO_SUCH_USER = "550 5.1.1 Mailbox does not exist"
RELAY_DENIED = "550 5.7.1 Relaying denied"
BARE_LINE_ENDING = "550 5.6.0 Bare CR or LF in message data is not allowed"
LOCAL_ERROR = "451 4.3.0 Local error in processing, try again later"
