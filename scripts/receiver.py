"""A webhook receiver for trying notifier on one machine: it checks each POST's Standard Webhooks
signature with your secret, prints what it verified, and answers 401 to anything else.

    WEBHOOK_SECRET=whsec_… .venv/bin/python scripts/receiver.py [PORT]    (default 9000; 0: any free one)

A real receiver does the same `Webhook(secret).verify(body, headers)` and dedupes on webhook-id.
"""

import contextlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError as exc:  # a forged, altered or stale request: never act on it
            print(f"REJECTED {self.headers.get('webhook-id')}: {exc}", flush=True)
            self.send_response(401)
        else:
            print(f"verified {self.headers['webhook-id']}: {json.dumps(payload)}", flush=True)
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # the lines above say it all
        pass


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9000), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop without a traceback
        server.serve_forever()
