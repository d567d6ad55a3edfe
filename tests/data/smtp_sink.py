"""An aiosmtpd handler for the SMTP tests: refuses recipients whose local part
starts with "refused", and saves each accepted message as N.eml (raw) and N.json
(headers and decoded parts, read with Python's email package) in a directory.

Run: PYTHONPATH=tests/data python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.Sink DIR
"""
import email
import email.policy
import json
import os


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("refused"):
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [
            {"type": part.get_content_type(), "content": part.get_content()}
            for part in message.walk()
            if not part.is_multipart()
        ]
        summary = {
            "envelope_to": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in message.items()},
            "content_type": message.get_content_type(),
            "parts": parts,
        }
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        with open(base + ".json.tmp", "w") as f:
            json.dump(summary, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted"
