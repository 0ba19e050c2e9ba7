"""``console``: writes the notification to the worker log. Always succeeds.

Everything logged comes from a client, so it is escaped (a CR, LF or terminal escape
in a recipient cannot start a forged log line or rewrite the screen) and the content
is cut at ``MAX_LOGGED`` characters (a 9 MB body is not one log line).
"""

import json
import logging

from notifier.base import Message, ProviderBase, Receipt
from notifier.gates import GateKeys

logger = logging.getLogger("notifier.console")

MAX_LOGGED = 1000


def printable(text: str) -> str:
    """``text`` with every unprintable character (controls, line separators) as its escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _content(message: Message) -> str:
    # json.dumps escapes every control and non-ASCII character in the content itself.
    content = json.dumps({"subject": message.subject, "body": message.body, "payload": message.payload})
    if len(content) <= MAX_LOGGED:
        return content
    return f"{content[:MAX_LOGGED]}… (cut; {len(content)} characters in all)"


class ConsoleProvider(ProviderBase):
    name = "console"

    def gate_keys(self, message: Message) -> GateKeys | None:
        return None  # the worker's own log: nothing to protect, nothing to wait for

    def validate_recipient(self, recipient: str) -> str:
        if not recipient.strip():
            raise ValueError("Give a recipient (any label).")
        return recipient.strip()

    def send(self, message: Message) -> Receipt:
        logger.info("notification %s to %s: %s", message.id, printable(message.recipient), _content(message))
        return Receipt()
