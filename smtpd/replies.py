"""SMTP replies with enhanced status codes (RFC 3463, RFC 2034), named once and used everywhere.

``enhance`` is the one boundary every reply passes through: aiosmtpd's own replies (which
carry no enhanced code, and some of which echo client input) are replaced by ours.
"""

from __future__ import annotations

import re

OK = "250 2.0.0 OK"
OK_SENDER = "250 2.1.0 Sender OK"
OK_RCPT = "250 2.1.5 Recipient OK"
QUEUED = "250 2.0.0 Ok: queued as {queue_id}"
BYE = "221 2.0.0 Bye"
START_TLS = "220 2.0.0 Ready to start TLS"
START_DATA = "354 End data with <CR><LF>.<CR><LF>"
AUTH_OK = "235 2.7.0 Authentication successful"
BAD_HELO = "501 5.5.2 Invalid domain name in HELO/EHLO"
BAD_SENDER_SYNTAX = "553 5.1.7 Bad sender address syntax"
BAD_ADDRESS_SYNTAX = "553 5.1.3 Bad recipient address syntax"
NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII address needs MAIL FROM with SMTPUTF8 (RFC 6531)"
BAD_BYTES = "501 5.5.2 Syntax error: NUL, control characters or invalid UTF-8 in the command"
BAD_SYNTAX = "500 5.5.2 Syntax error"
UNKNOWN_COMMAND = "500 5.5.2 Command not recognized"
COMMAND_TOO_LONG = "500 5.5.2 Command line too long"
LINE_TOO_LONG = "500 5.5.2 Line too long: at most 1000 octets per line (RFC 5321 4.5.3.1.6)"
NO_SUCH_USER = "550 5.1.1 Mailbox does not exist"
RELAY_DENIED = "550 5.7.1 Relaying denied"
SENDER_NOT_OWNED = "553 5.7.1 Sender address not owned by the authenticated user"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
SIZE_EXCEEDED = "552 5.3.4 Message size exceeds fixed maximum message size"
MAILBOX_FULL = "452 4.2.2 Mailbox full, try again later"
OVER_QUOTA = "552 5.2.2 Message exceeds the mailbox quota of every recipient"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"
AUTH_THROTTLED = "454 4.7.0 Too many failed authentications, try again later"
AUTH_NEEDS_TLS = "538 5.7.11 Encryption required for requested authentication mechanism"
AUTH_UNAVAILABLE = "502 5.5.1 AUTH not available"
STARTTLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first"
REQUIRETLS_NEEDS_TLS = "530 5.7.10 REQUIRETLS needs a TLS session: STARTTLS first (RFC 8689)"
TLS_ACTIVE = "503 5.5.1 TLS already active"
TLS_UNAVAILABLE = "502 5.5.1 STARTTLS not available"
RATE_LIMITED = "451 4.7.1 Message rate limit exceeded, try again later"
TOO_MANY_CONNECTIONS = "421 4.7.0 {host} Too many connections, try again later"
TIMEOUT = "421 4.4.2 {host} Timeout exceeded, closing connection"
BARE_LINE_ENDING = "550 5.6.0 Bare CR or LF in message data is not allowed"
LOCAL_ERROR = "451 4.3.0 Local error in processing, try again later"
PIPELINE_BUSY = "451 4.3.2 Delivery queue full, try again later"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"

_HAS_ENHANCED = re.compile(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")

# aiosmtpd's fixed replies (by their start) and ours in their place.
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("221 Bye", BYE),
    ("250 OK", OK),
    ("220 Ready to start TLS", START_TLS),
    ("354 ", START_DATA),
    ("552 Error: message size exceeds", SIZE_EXCEEDED),
    ("552 Error: Too much mail data", SIZE_EXCEEDED),
    ("500 Line too long", LINE_TOO_LONG),
    ("500 Command line too long", COMMAND_TOO_LONG),
    ("500 Error: bad syntax", BAD_SYNTAX),
    ("500 Error: strict ASCII mode", BAD_BYTES),
    ('500 Error: command "', UNKNOWN_COMMAND),
    ("500 Error: command 'AUTH' not recognized", "503 5.5.1 Send EHLO first to use AUTH"),
    ("503 Error: send HELO first", "503 5.5.1 Send HELO or EHLO first"),
    ("503 Error: send EHLO first", "503 5.5.1 Send EHLO first"),
    ("503 Error: nested MAIL command", "503 5.5.1 Nested MAIL command"),
    ("503 Error: need MAIL command", "503 5.5.1 Need MAIL command"),
    ("503 Error: need RCPT command", "503 5.5.1 Need RCPT command"),
    ("503 Already authenticated", "503 5.5.1 Already authenticated"),
    ("530 Must issue a STARTTLS command first", STARTTLS_FIRST),
    ("554 Command refused due to lack of security", "554 5.7.0 TLS handshake was refused"),
    ("454 TLS not available", TLS_UNAVAILABLE),
    ("501 Error: BODY can only be", "501 5.5.4 BODY must be 7BIT or 8BITMIME"),
    ("501 Error: SMTPUTF8 takes no arguments", "501 5.5.4 SMTPUTF8 takes no arguments"),
    ("555 MAIL FROM parameters", "555 5.5.4 MAIL FROM parameters not recognized"),
    ("555 RCPT TO parameters", "555 5.5.4 RCPT TO parameters not recognized"),
    ("553 5.1.3 Error: malformed address", BAD_ADDRESS_SYNTAX),
    ("502 Could not VRFY", "502 5.5.1 VRFY not available"),
    ("252 Cannot VRFY", "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery"),
    ("502 EXPN not implemented", "502 5.5.1 EXPN not available"),
)

# Fallback enhanced codes by basic code, for anything not named above.
_BY_CODE = {
    "211": "2.0.0",
    "214": "2.0.0",
    "220": "2.0.0",
    "221": "2.0.0",
    "250": "2.0.0",
    "252": "2.0.0",
    "421": "4.3.0",
    "450": "4.2.0",
    "451": "4.3.0",
    "452": "4.3.1",
    "454": "4.7.0",
    "500": "5.5.2",
    "501": "5.5.4",
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "535": "5.7.8",
    "550": "5.0.0",
    "552": "5.3.4",
    "553": "5.1.0",
    "554": "5.0.0",
    "555": "5.5.4",
}


def enhance(reply: str) -> str:
    """The reply with an enhanced status code (and never echoing the client's input)."""
    for start, ours in _REPLACEMENTS:
        if reply.startswith(start):
            return ours
    if _HAS_ENHANCED.match(reply) or reply.startswith("334 "):
        return reply
    code, sep, text = reply[:3], reply[3:4], reply[4:]
    enhanced = _BY_CODE.get(code)
    if enhanced is None or sep not in (" ", "-"):
        return reply
    return f"{code}{sep}{enhanced} {text}".rstrip()
