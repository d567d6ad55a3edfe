"""Twilio's official Python SDK, unchanged, against seccode-server.

Run by server/tests/sdk.rs with SECCODE_URL, ACCOUNT_SID, AUTH_TOKEN, SMS_DIR
(the SMS webhook's requests as N.json), MAIL_DIR (the SMTP server's messages as
N.json) and SCHEMA (the Verify v2 OpenAPI excerpt). Every response the SDK
receives is validated against the excerpt's schema for its path and status.
Exits non-zero on the first failure.
"""
import copy
import datetime
import glob
import json
import os
import re
import sys
import time

import jsonschema
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

URL = os.environ["SECCODE_URL"]
SID = os.environ["ACCOUNT_SID"]
TOKEN = os.environ["AUTH_TOKEN"]

with open(os.environ["SCHEMA"]) as f:
    SPEC = json.load(f)


def openapi_to_jsonschema(node):
    """OpenAPI 3.0 `nullable` as JSON Schema types."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


COMPONENTS = openapi_to_jsonschema(SPEC["components"])
PATHS = [
    (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in SPEC["paths"]
]
checked = {"responses": 0}


def validate_last(client):
    """Validates the SDK's last response against the excerpt."""
    # The SDK keeps its last exchange (for tests) on its HTTP client.
    request = client.http_client._test_only_last_request
    response = client.http_client._test_only_last_response
    path = "/" + request.url.split("/", 3)[3].split("?")[0]
    template = next(t for r, t in PATHS if r.match(path))
    status = str(response.status_code)
    if response.status_code >= 400:
        body = json.loads(response.text)
        assert set(body) == {"code", "message", "more_info", "status"}, body
        assert body["status"] == response.status_code, body
        checked["responses"] += 1
        return
    operation = SPEC["paths"][template][request.method.lower()]
    answer = operation["responses"][status]
    if "content" not in answer:
        assert response.text in ("", None), response.text
        checked["responses"] += 1
        return
    schema = copy.deepcopy(answer["content"]["application/json"]["schema"])
    schema = openapi_to_jsonschema(schema)
    schema["components"] = COMPONENTS
    jsonschema.validate(json.loads(response.text), schema)
    checked["responses"] += 1


def latest(directory, match, deadline=10.0):
    """The newest saved JSON message that `match` accepts (polled, bounded)."""
    end = time.time() + deadline
    while time.time() < end:
        files = sorted(
            glob.glob(os.path.join(directory, "*.json")),
            key=lambda p: int(os.path.basename(p).split(".")[0]),
        )
        for path in reversed(files):
            with open(path) as f:
                message = json.load(f)
            found = match(message)
            if found:
                return found
        time.sleep(0.05)
    raise AssertionError("no message arrived in " + directory)


def sms_code(to):
    return latest(os.environ["SMS_DIR"], lambda m: m.get("to") == to and m.get("code"))


def mail_code(to, length=6):
    def match(m):
        if to not in m.get("envelope_to", []):
            return None
        found = re.search(r"\b\d{%d}\b" % length, m["parts"][0]["content"])
        return found.group(0) if found else None

    return latest(os.environ["MAIL_DIR"], match)


def totp(secret, at, step=60, digits=6):
    """The code an authenticator app shows at `at` for a base32 `secret`
    (RFC 6238 with HMAC-SHA1), written here from the RFC, not the server's."""
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = mac[-1] & 15
    number = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(number).zfill(digits)


def wrong(code):
    return str((int(code[0]) + 1) % 10) + code[1:]


def expect_error(client, status, code, call):
    try:
        call()
    except TwilioRestException as e:
        assert (e.status, e.code) == (status, code), (e.status, e.code, e.msg)
        validate_last(client)
        return e
    raise AssertionError("expected %d/%d" % (status, code))


def webhook_receiver():
    """An HTTP receiver on a free loopback port that keeps every request
    (URL, headers, body) and answers 200: where a service's webhooks go."""
    import http.server
    import threading

    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % server.server_address[1], got


def check_webhooks(client, v2):
    """Webhooks: each event the receiver gets passes Twilio's own
    RequestValidator with the account's auth token (and a tampered one does
    not)."""
    from urllib.parse import parse_qsl

    base, got = webhook_receiver()
    service = v2.services.create(friendly_name="Python hooks", verify_event_subscription_enabled=True)
    validate_last(client)
    assert service.verify_event_subscription_enabled is True
    svc = v2.services(service.sid)
    prefix = "com.twilio.accountsecurity.verify.verification."
    hook = svc.webhooks.create(
        friendly_name="all events",
        event_types=["*", prefix + "pending", prefix + "approved"],
        webhook_url=base + "/hooks?app=python",
    )
    validate_last(client)
    assert hook.sid.startswith("YW") and hook.status == "enabled", hook.status
    assert set(hook.event_types) == {"*", prefix + "pending", prefix + "approved"}
    expect_error(
        client,
        400,
        60200,
        lambda: svc.webhooks.create(friendly_name="bad", event_types=["nope"], webhook_url=base),
    )
    to = "+15017122690"
    verification = svc.verifications.create(to=to, channel="sms")
    code = sms_code(to)
    assert svc.verification_checks.create(verification_sid=verification.sid, code=code).status == "approved"
    factor = svc.entities("python-webhooks-0001").new_factors.create(
        friendly_name="Python phone", factor_type="totp"
    )
    end = time.time() + 15
    while len(got) < 3:
        assert time.time() < end, "the events did not arrive: %r" % got
        time.sleep(0.05)
    validator = RequestValidator(TOKEN)
    kinds = set()
    for path, headers, body in got:
        url = base + path
        signature = headers["x-twilio-signature"]
        if headers["content-type"] == "application/json":
            assert validator.validate(url, body, signature), url
            assert not validator.validate(url, body + " ", signature)
            event = json.loads(body)[0]
            assert event["data"]["verification_sid"] == verification.sid
            assert to not in body and code not in body
            kinds.add(event["type"])
        else:
            params = dict(parse_qsl(body, keep_blank_values=True))
            assert validator.validate(url, params, signature), (url, params)
            assert not validator.validate(url, dict(params, factor_sid="YF" + "0" * 32), signature)
            assert params["factor_sid"] == factor.sid
            kinds.add(params["type"])
    assert kinds == {"factor.created", prefix + "pending", prefix + "approved"}, kinds
    assert [h.sid for h in svc.webhooks.list()] == [hook.sid]
    validate_last(client)
    disabled = svc.webhooks(hook.sid).update(status="disabled")
    validate_last(client)
    assert disabled.status == "disabled"
    assert svc.webhooks(hook.sid).fetch().status == "disabled"
    validate_last(client)
    assert svc.webhooks(hook.sid).delete() is True
    expect_error(client, 404, 20404, lambda: svc.webhooks(hook.sid).fetch())


def check_messaging_configurations(client, v2):
    """A service's Messaging Configurations through the SDK: an SMS to a
    British number goes out from the GB one."""
    service = v2.services.create(friendly_name="Python senders")
    svc = v2.services(service.sid)
    mg = "MG0123456789abcdef0123456789abcdef"
    created = svc.messaging_configurations.create(country="GB", messaging_service_sid=mg)
    validate_last(client)
    assert (created.country, created.messaging_service_sid) == ("GB", mg)
    svc.verifications.create(to="+447400123490", channel="sms")
    sent = latest(os.environ["SMS_DIR"], lambda m: m if m.get("to") == "+447400123490" else None)
    assert sent["sender"] == mg, sent
    later = "MGfedcba9876543210fedcba9876543210"
    assert svc.messaging_configurations("GB").update(messaging_service_sid=later).messaging_service_sid == later
    validate_last(client)
    assert [c.country for c in svc.messaging_configurations.list()] == ["GB"]
    validate_last(client)
    assert svc.messaging_configurations("GB").fetch().messaging_service_sid == later
    validate_last(client)
    assert svc.messaging_configurations("GB").delete() is True
    expect_error(client, 404, 20404, lambda: svc.messaging_configurations("GB").fetch())


def check_templates(client, v2):
    """Message templates through the SDK: the configured ones listed (and
    filtered), a verification's TemplateSid with its custom substitutions
    and locale, and a service's DefaultTemplateSid — each SMS in the
    template's words, the code verifying as any other."""
    base = "HJ0123456789abcdef0123456789abcdef"
    custom = "HJfedcba9876543210fedcba9876543210"
    templates = v2.templates.list()
    validate_last(client)
    assert [t.sid for t in templates] == [base, custom], [t.sid for t in templates]
    assert templates[0].channels == ["sms", "voice"], templates[0].channels
    assert templates[0].translations["fr"]["text"].startswith("Votre code"), templates[0].translations
    named = v2.templates.list(friendly_name="App and")
    validate_last(client)
    assert [t.sid for t in named] == [custom]

    service = v2.services.create(friendly_name="Python templates", default_template_sid=base)
    validate_last(client)
    assert service.default_template_sid == base
    svc = v2.services(service.sid)
    svc.verifications.create(to="+447400123492", channel="sms")
    validate_last(client)
    code = sms_code("+447400123492")
    sent = latest(os.environ["SMS_DIR"], lambda m: m if m.get("to") == "+447400123492" else None)
    assert sent["text"] == (
        "Your Python templates verification code is: %s. Do not share this code with anyone." % code
    ), sent["text"]
    check = svc.verification_checks.create(to="+447400123492", code=code)
    assert check.status == "approved", check.status

    svc.verifications.create(
        to="+447400123493",
        channel="sms",
        template_sid=custom,
        template_custom_substitutions=json.dumps({"AppName": "MyApp", "Contact": "help.example.com"}),
    )
    validate_last(client)
    code = sms_code("+447400123493")
    sent = latest(os.environ["SMS_DIR"], lambda m: m if m.get("to") == "+447400123493" else None)
    assert sent["text"] == "MyApp: your code is %s. Questions? help.example.com" % code, sent["text"]
    svc.verifications.create(to="+447400123494", channel="sms", template_sid=base, locale="fi")
    validate_last(client)
    code = sms_code("+447400123494")
    sent = latest(os.environ["SMS_DIR"], lambda m: m if m.get("to") == "+447400123494" else None)
    assert sent["text"].startswith("Python templates-vahvistuskoodisi on: %s" % code), sent["text"]
    expect_error(
        client,
        400,
        60200,
        lambda: svc.verifications.create(
            to="+447400123495", channel="sms", template_sid=custom, template_custom_substitutions="{}"
        ),
    )
    cleared = svc.update(default_template_sid="")
    validate_last(client)
    assert cleared.default_template_sid is None, cleared.default_template_sid


def check_whatsapp(client, v2):
    """A WhatsApp code through the SDK: a service with its WhatsApp sender,
    a verification on channel whatsapp delivered by the WhatsApp gateway
    (not by SMS) from that sender, approved by its code."""
    mg = "MG0123456789abcdef0123456789abcdef"
    service = v2.services.create(friendly_name="Python WhatsApp", whatsapp_msg_service_sid=mg)
    validate_last(client)
    assert service.whatsapp["msg_service_sid"] == mg, service.whatsapp
    svc = v2.services(service.sid)
    started = svc.verifications.create(to="+447400123480", channel="whatsapp")
    validate_last(client)
    assert started.channel == "whatsapp" and started.status == "pending"
    sent = latest(os.environ["WHATSAPP_DIR"], lambda m: m if m.get("to") == "+447400123480" else None)
    assert sent["sender"] == mg, sent
    assert sent["text"].startswith("Python WhatsApp: "), sent["text"]
    check = svc.verification_checks.create(to="+447400123480", code=sent["code"])
    validate_last(client)
    assert (check.status, check.channel) == ("approved", "whatsapp")
    updated = svc.update(whatsapp_from="whatsapp:+14155238886")
    validate_last(client)
    assert updated.whatsapp["from"] == "+14155238886", updated.whatsapp


def check_call(client, v2):
    """A call through the SDK: the digits to press once answered and the
    service's voice reach the voice gateway."""
    service = v2.services.create(friendly_name="Python calls", tts_name="Polly.Joanna")
    svc = v2.services(service.sid)
    started = svc.verifications.create(to="+447400123482", channel="call", send_digits="ww1234#")
    validate_last(client)
    assert started.channel == "call"
    call = latest(os.environ["CALLS_DIR"], lambda m: m if m.get("to") == "+447400123482" else None)
    assert (call["send_digits"], call["voice_name"]) == ("ww1234#", "Polly.Joanna"), call
    expect_error(
        client,
        400,
        60200,
        lambda: svc.verifications.create(to="+447400123483", channel="sms", send_digits="1"),
    )


def main():
    client = Client(SID, TOKEN)
    client.verify.base_url = URL
    v2 = client.verify.v2

    service = v2.services.create(friendly_name="Python SDK")
    validate_last(client)
    assert service.sid.startswith("VA") and service.code_length == 6
    svc = v2.services(service.sid)

    # A rate limit with a bucket; a verification counted in it.
    rl = svc.rate_limits.create(unique_name="end_user_ip_address", description="per IP")
    validate_last(client)
    bucket = svc.rate_limits(rl.sid).buckets.create(max=10, interval=60)
    validate_last(client)
    assert (bucket.max, bucket.interval) == (10, 60)
    assert [r.unique_name for r in svc.rate_limits.list()] == ["end_user_ip_address"]
    validate_last(client)

    # SMS: a wrong code, then the right one.
    to = "+15017122661"
    started = svc.verifications.create(
        to=to, channel="sms", rate_limits={"end_user_ip_address": "203.0.113.9"}
    )
    validate_last(client)
    assert started.status == "pending" and started.valid is False
    code = sms_code(to)
    check = svc.verification_checks.create(to=to, code=wrong(code))
    validate_last(client)
    assert (check.status, check.valid) == ("pending", False)
    check = svc.verification_checks.create(to=to, code=code)
    validate_last(client)
    assert (check.status, check.valid) == ("approved", True)
    e = expect_error(client, 404, 20404, lambda: svc.verifications(started.sid).fetch())
    assert "approved" in e.msg, e.msg

    # Email, checked by verification SID.
    email = "python-sdk@example.org"
    mailed = svc.verifications.create(to=email, channel="email")
    validate_last(client)
    fetched = svc.verifications(mailed.sid).fetch()
    validate_last(client)
    assert (fetched.status, fetched.channel, fetched.to) == ("pending", "email", email)
    check = svc.verification_checks.create(verification_sid=mailed.sid, code=mail_code(email))
    validate_last(client)
    assert check.status == "approved"

    # Cancel.
    other = svc.verifications.create(to="+14155550199", channel="sms")
    validate_last(client)
    canceled = svc.verifications(other.sid).update(status="canceled")
    validate_last(client)
    assert canceled.status == "canceled"
    expect_error(client, 404, 20404, lambda: svc.verifications(other.sid).fetch())

    # 60200: a custom code; 60202: a sixth check; 60203: a sixth send.
    expect_error(
        client, 400, 60200,
        lambda: svc.verifications.create(to=to, channel="sms", custom_code="123456"),
    )
    # A payment (PSD2) is refused on a service without Psd2Enabled; on one
    # with it, the code is bound to the amount and payee: another amount
    # fails as a wrong code does, the same approves.
    expect_error(
        client, 400, 60200,
        lambda: svc.verifications.create(to=to, channel="sms", amount="39.99", payee="Acme"),
    )
    psd2 = v2.services.create(friendly_name="Python PSD2", psd2_enabled=True)
    validate_last(client)
    assert psd2.psd2_enabled is True
    pay_to = "+14155550170"
    paying = v2.services(psd2.sid).verifications.create(
        to=pay_to, channel="sms", amount="€39.99", payee="Acme Inc."
    )
    validate_last(client)
    assert (paying.amount, paying.payee) == ("€39.99", "Acme Inc.")
    pay_code = sms_code(pay_to)
    other = v2.services(psd2.sid).verification_checks.create(
        to=pay_to, code=pay_code, amount="€399.99", payee="Acme Inc."
    )
    validate_last(client)
    assert (other.status, other.valid) == ("pending", False)
    paid = v2.services(psd2.sid).verification_checks.create(
        to=pay_to, code=pay_code, amount="€39.99", payee="Acme Inc."
    )
    validate_last(client)
    assert (paid.status, paid.valid, paid.amount) == ("approved", True, "€39.99")
    # The safe list: a number added (in E.164), fetched and removed.
    safe = v2.safelist.create(phone_number="+1 (415) 555-0166")
    validate_last(client)
    assert safe.sid.startswith("GN") and safe.phone_number == "+14155550166"
    assert v2.safelist("+14155550166").fetch().sid == safe.sid
    validate_last(client)
    assert v2.safelist("+14155550166").delete() is True
    validate_last(client)
    expect_error(client, 404, 20404, lambda: v2.safelist("+14155550166").fetch())
    # A number typed with spaces and brackets is answered in E.164.
    typed = svc.verifications.create(to="+1 (415) 555-0179", channel="sms")
    validate_last(client)
    assert typed.to == "+14155550179", typed.to
    locked_to = "+14155550198"
    svc.verifications.create(to=locked_to, channel="sms")
    validate_last(client)
    code = sms_code(locked_to)
    for _ in range(5):
        check = svc.verification_checks.create(to=locked_to, code=wrong(code))
        validate_last(client)
        assert check.valid is False
    expect_error(client, 429, 60202, lambda: svc.verification_checks.create(to=locked_to, code=code))
    sends_to = "+14155550197"
    for _ in range(5):
        svc.verifications.create(to=sends_to, channel="sms")
        validate_last(client)
    expect_error(client, 429, 60203, lambda: svc.verifications.create(to=sends_to, channel="sms"))

    # TOTP: an entity, a factor (secret and URI once), verified by a first
    # code; challenges approved by its codes, each step once. 60-second steps
    # and a skew of two: the codes are for steps around a time read once, at
    # least 15 s before a step ends (a bounded wait).
    deadline = time.time() + 20
    while time.time() % 60 > 45:
        assert time.time() < deadline
        time.sleep(0.2)
    identity = "python-sdk-entity-0001"
    entity = svc.entities.create(identity=identity)
    validate_last(client)
    assert entity.sid.startswith("YE") and entity.identity == identity
    expect_error(client, 409, 60301, lambda: svc.entities.create(identity=identity))
    user = svc.entities(identity)
    factor = user.new_factors.create(
        friendly_name="Ada's phone", factor_type="totp", config_time_step=60, config_skew=2
    )
    validate_last(client)
    assert factor.status == "unverified" and factor.factor_type == "totp"
    secret = factor.binding["secret"]
    assert factor.binding["uri"].startswith("otpauth://totp/"), factor.binding["uri"]
    assert factor.config["time_step"] == 60
    fetched = user.factors(factor.sid).fetch()
    validate_last(client)
    assert not hasattr(fetched, "binding") or fetched.binding is None
    expect_error(
        client, 403, 60318, lambda: user.challenges.create(factor_sid=factor.sid)
    )
    now = time.time()
    unverified = user.factors(factor.sid).update(auth_payload=wrong(totp(secret, now - 120)))
    validate_last(client)
    assert unverified.status == "unverified"
    verified = user.factors(factor.sid).update(auth_payload=totp(secret, now - 120))
    validate_last(client)
    assert verified.status == "verified"
    approved = user.challenges.create(
        factor_sid=factor.sid,
        auth_payload=totp(secret, now - 60),
        hidden_details={"ip": "203.0.113.7"},
    )
    validate_last(client)
    assert approved.status == "approved" and approved.hidden_details == {"ip": "203.0.113.7"}
    # ExpirationDate: the SDK sends a datetime, reads back the same instant.
    expires = datetime.datetime.fromtimestamp(int(now) + 1800, datetime.timezone.utc)
    pending = user.challenges.create(factor_sid=factor.sid, expiration_date=expires)
    validate_last(client)
    assert pending.status == "pending"
    assert pending.expiration_date == expires, pending.expiration_date
    replayed = user.challenges(pending.sid).update(auth_payload=totp(secret, now - 60))
    validate_last(client)
    assert replayed.status == "pending", "a step is accepted once"
    answered = user.challenges(pending.sid).update(auth_payload=totp(secret, now))
    validate_last(client)
    assert answered.status == "approved"
    listed = user.challenges.list(status="approved", factor_sid=factor.sid)
    validate_last(client)
    assert len(listed) == 2, len(listed)
    assert [f.sid for f in user.factors.list()] == [factor.sid]
    validate_last(client)
    assert user.factors(factor.sid).delete() is True
    validate_last(client)
    assert user.delete() is True
    validate_last(client)
    expect_error(client, 404, 20404, lambda: user.fetch())

    # Attempts: the messages sent, filtered, fetched, summed up.
    attempts = v2.verification_attempts.list(channel="email")
    validate_last(client)
    assert [a.channel_data["to"] for a in attempts] == [email], attempts
    one = v2.verification_attempts(attempts[0].sid).fetch()
    validate_last(client)
    assert one.verification_sid == mailed.sid and one.conversion_status == "converted"
    summary = v2.verification_attempts_summary().fetch(channel="email")
    validate_last(client)
    assert (summary.total_attempts, summary.total_converted) == (1, 1), summary

    # Lists with paging (the SDK follows next_page_url), update, delete.
    for i in range(3):
        v2.services.create(friendly_name="Python page %d" % i)
        validate_last(client)
    page = v2.services.page(page_size=2)
    validate_last(client)
    assert len(list(page)) == 2 and page.next_page_url, page.next_page_url
    second = page.next_page()
    validate_last(client)
    assert len(list(second)) == 2
    listed = v2.services.list(page_size=2)
    validate_last(client)
    assert len(listed) >= 4, len(listed)
    updated = svc.update(friendly_name="Renamed by Python")
    validate_last(client)
    assert updated.friendly_name == "Renamed by Python"
    assert svc.delete() is True
    validate_last(client)
    expect_error(client, 404, 20404, lambda: svc.fetch())

    # An API key (SK…) with its secret, for the account.
    keyed = Client(os.environ["API_KEY_SID"], os.environ["API_KEY_SECRET"], SID)
    keyed.verify.base_url = URL
    by_key = keyed.verify.v2.services.create(friendly_name="Python key")
    validate_last(keyed)
    assert by_key.account_sid == SID

    # 20003: a wrong token.
    stranger = Client(SID, "not-the-token")
    stranger.verify.base_url = URL
    # (A list call raises the SDK's page error, not a REST error: fetch instead.)
    expect_error(stranger, 401, 20003, lambda: stranger.verify.v2.services(listed[-1].sid).fetch())

    check_webhooks(client, client.verify.v2)
    check_messaging_configurations(client, client.verify.v2)
    check_templates(client, client.verify.v2)
    check_whatsapp(client, client.verify.v2)
    check_call(client, client.verify.v2)

    print("python sdk ok: %d responses validated" % checked["responses"])


if __name__ == "__main__":
    try:
        main()
    except Exception:  # report and fail
        import traceback

        traceback.print_exc()
        sys.exit(1)
