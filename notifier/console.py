"""``console``: writes the notification to the worker log. Always succeeds."""

import json
import logging

from notifier.base import Message, Receipt

logger = logging.getLogger("notifier.console")


class ConsoleProvider:
    name = "console"

    def validate_recipient(self, recipient: str) -> str:
        if not recipient.strip():
            raise ValueError("Give a recipient (any label).")
        return recipient.strip()

    def send(self, message: Message) -> Receipt:
        logger.info(
            "notification %s to %s: %s",
            message.id,
            message.recipient,
            json.dumps({"subject": message.subject, "body": message.body, "payload": message.payload}),
        )
        return Receipt()
