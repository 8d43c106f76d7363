"""A real SMTP server on loopback for the digest tests: aiosmtpd (PyPI),
installed into the project's .venv by scripts/test.

Usage: python capture.py OUT_DIR
Listens on 127.0.0.1 on a free port, prints `ready PORT` once it accepts
connections, and writes every message it is given to OUT_DIR/NNNN.json,
parsed with Python's standard MIME parser (email.policy.default): the
envelope (mail_from, rcpt_tos), every header as received (name, value),
the content type, and the text/plain and text/html parts decoded.
"""

import json
import os
import socket
import sys
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Capture:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        self.n += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "headers": [[k, str(v)] for k, v in msg.raw_items()],
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None and html.get_content_type() == "text/html" else None,
            "raw": envelope.original_content.decode("utf-8", "replace"),
        }
        tmp = os.path.join(self.out, f"{self.n:04}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, f"{self.n:04}.json"))
        return "250 OK"


def main():
    out = sys.argv[1]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    controller = Controller(Capture(out), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"ready {port}", flush=True)
    try:
        # Until the test closes stdin (or kills the process).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
