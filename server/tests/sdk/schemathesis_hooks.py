"""Schemathesis hooks for server/tests/schemathesis.rs: one check in place of
`positive_data_acceptance`.

A request Twilio's description calls valid is either accepted, or refused the
way server/README.md documents it: 400 with a Twilio error body whose code is
60200 (a parameter the server refuses — "… is not supported by this server" —
or a value the description cannot express a rule for, named in the message:
"Invalid parameter: To", "Missing required parameter …"), 60205 or 60223 (a
channel or line type this server does not send to). Anything else — a 4xx of
the HTTP layer (405, 413, 415, 422), a bare 400, a message that names no
parameter — is a valid request rejected without a documented reason.
"""
import json
import re

import schemathesis

DOCUMENTED_CODES = {60200, 60205, 60223}
NAMED = re.compile(r"^(Invalid parameter|Missing required parameter)")
# Answers whose meaning does not depend on the request being well formed.
NOT_A_REFUSAL = {401, 403, 404, 409, 429}


@schemathesis.check
def valid_requests_are_accepted_or_refused_as_documented(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status in NOT_A_REFUSAL or status >= 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = {}
    code = body.get("code")
    message = body.get("message") or ""
    if status == 400 and code in DOCUMENTED_CODES and (code != 60200 or NAMED.search(message)):
        return None
    raise AssertionError(
        "a valid request was refused without a documented reason: %d %s"
        % (status, response.content[:300])
    )
