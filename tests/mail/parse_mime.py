"""Parse one .eml with Python's email package and print it as JSON (attachments base64)."""
import base64
import json
import sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], "rb") as f:
    msg = BytesParser(policy=policy.default).parse(f)
body = msg.get_body(preferencelist=("plain",))
out = {
    "subject": msg["subject"],
    "from": msg["from"],
    "to": msg["to"],
    "text": body.get_content() if body is not None else None,
    "attachments": [
        {
            "filename": part.get_filename(),
            "contentType": part.get_content_type(),
            "base64": base64.b64encode(part.get_payload(decode=True)).decode(),
        }
        for part in msg.iter_attachments()
    ],
}
print(json.dumps(out))
