//! Every request parameter of the Verify v2 operations this server
//! implements, and what it does with each: **honoured** (stored, returned or
//! acted on as Twilio documents it), or **refused** — answered 400 with error
//! 60200 naming the parameter and saying why — whenever it asks for anything
//! but Twilio's default. A setting the server accepted and then ignored would
//! be worse than one it refuses: a payment app that sends `Psd2Enabled=true`
//! must learn that amounts are not bound to its codes, not find out from an
//! approval.
//!
//! `server/README.md` carries [`fidelity_table`]; a test fails when a
//! parameter of Twilio's description is missing here or the README's table is
//! out of date.

use std::collections::HashMap;

/// What the server does with one request parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Stored, returned or acted on; the text says how.
    Honoured(&'static str),
    /// Accepted only at one of the default values (an absent parameter is
    /// always accepted); any other value is refused with 60200 and the text
    /// says why.
    Refused {
        /// The values that ask for nothing (`false`, `""`).
        defaults: &'static [&'static str],
        /// Why anything else is refused.
        why: &'static str,
    },
}

/// One request parameter and its treatment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter's name in the form body, as Twilio spells it.
    pub name: &'static str,
    /// What the server does with it.
    pub treatment: Treatment,
}

/// One implemented operation: its name in Twilio's description (the
/// `operationId`) and every request parameter it has there.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    /// The `operationId`, e.g. `CreateVerification`.
    pub id: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
}

const OFF: &[&str] = &["false", "False", ""];
const EMPTY: &[&str] = &[""];

const fn honoured(name: &'static str, how: &'static str) -> Param {
    Param {
        name,
        treatment: Treatment::Honoured(how),
    }
}

const fn refused(
    name: &'static str,
    defaults: &'static [&'static str],
    why: &'static str,
) -> Param {
    Param {
        name,
        treatment: Treatment::Refused { defaults, why },
    }
}

const NO_CUSTOM_CODE: &str =
    "custom codes are not supported: codes are derived from a key, never stored";
const NO_PUSH: &str = "Push factors are not supported";
const NO_TOTP: &str = "service-wide TOTP defaults are not stored: set them per factor (`Config.*` of CreateNewFactor); the issuer is the service's FriendlyName";
const NO_PASSKEYS: &str = "passkeys are not supported";

/// The parameters of `CreateService` and `UpdateService` (the same list).
const SERVICE: &[Param] = &[
    honoured(
        "FriendlyName",
        "stored and returned (1 to 30 characters); names every message (`Contoso: Your security code is …`, and the email's subject)",
    ),
    honoured(
        "CodeLength",
        "stored and returned; the service's codes have this many digits (4 to 10)",
    ),
    honoured(
        "LookupEnabled",
        "stored and returned; verifications report the number's line type from libphonenumber's metadata in `lookup.carrier.type` (`mobile`, `landline`, `voip`, or null where the number does not tell)",
    ),
    honoured(
        "SkipSmsToLandlines",
        "stored and returned; an SMS to a number whose line type is a fixed line is refused with 60205 before anything is sent or counted (needs `LookupEnabled`)",
    ),
    honoured(
        "DtmfInputRequired",
        "stored and returned; a call reads the code only after a key press: the voice gateway gets the locale's prompt (`voice_prompt`) to say first",
    ),
    honoured(
        "TtsName",
        "stored and returned; the voice gateway gets it as `voice_name` (a voice name: letters, digits, '.', '-', '_', ':')",
    ),
    honoured(
        "Psd2Enabled",
        "stored and returned; every verification of the service is bound to its `Amount` and `Payee` (both required), its message names them, and only a check naming both approves it",
    ),
    honoured(
        "DoNotShareWarningEnabled",
        "stored and returned; SMS and calls end with the locale's warning not to share the code (an email carries one always)",
    ),
    refused("CustomCodeEnabled", OFF, NO_CUSTOM_CODE),
    refused("Push.IncludeDate", OFF, NO_PUSH),
    refused("Push.ApnCredentialSid", EMPTY, NO_PUSH),
    refused("Push.FcmCredentialSid", EMPTY, NO_PUSH),
    refused("Totp.Issuer", EMPTY, NO_TOTP),
    refused("Totp.TimeStep", EMPTY, NO_TOTP),
    refused("Totp.CodeLength", EMPTY, NO_TOTP),
    refused("Totp.Skew", EMPTY, NO_TOTP),
    honoured(
        "DefaultTemplateSid",
        "stored and returned; one of the server's `[[templates]]` that serves SMS (60200 otherwise; empty clears it): the service's SMS are written from it unless a verification names another",
    ),
    honoured(
        "Whatsapp.MsgServiceSid",
        "stored and returned (`MG` and 32 hex digits; empty clears it); the service's WhatsApp codes go out from this Messaging Service (Twilio's `MessagingServiceSid`) unless `Whatsapp.From` is set; one of the account's `senders` when it is configured with them",
    ),
    honoured(
        "Whatsapp.From",
        "stored and returned in E.164 (`whatsapp:` optional; empty clears it); the service's WhatsApp codes go out from this number (`From: whatsapp:+…`); one of the account's `senders` when it is configured with them",
    ),
    refused("Passkeys.RelyingParty.Id", EMPTY, NO_PASSKEYS),
    refused("Passkeys.RelyingParty.Name", EMPTY, NO_PASSKEYS),
    refused("Passkeys.RelyingParty.Origins", EMPTY, NO_PASSKEYS),
    refused("Passkeys.AuthenticatorAttachment", EMPTY, NO_PASSKEYS),
    refused("Passkeys.DiscoverableCredentials", EMPTY, NO_PASSKEYS),
    refused("Passkeys.UserVerification", EMPTY, NO_PASSKEYS),
    honoured(
        "VerifyEventSubscriptionEnabled",
        "stored and returned; the service's verifications send their status changes (pending, approved, canceled, expired, max attempts reached) to its webhooks subscribed to them, as Verify Events (CloudEvents JSON, signed as Twilio signs webhooks, retried with backoff)",
    ),
];

/// The parameters of `CreateVerification`.
const VERIFICATION: &[Param] = &[
    honoured(
        "To",
        "a phone number (any common notation, answered in E.164) or an email address",
    ),
    honoured(
        "Channel",
        "`sms`, `call`, `email` and `whatsapp` where configured (60223 otherwise; `sna` and `auto` always)",
    ),
    honoured(
        "CustomFriendlyName",
        "names this verification's messages instead of the service's FriendlyName (1 to 30 characters)",
    ),
    refused(
        "CustomMessage",
        EMPTY,
        "custom message texts are not supported (deprecated by Twilio)",
    ),
    honoured(
        "SendDigits",
        "for a call: the voice gateway gets them as `send_digits`, to press once the call is answered (1 to 32 of 0-9, *, # and w; 60200 otherwise, and on another channel)",
    ),
    honoured(
        "Locale",
        "the message's language: en, en-GB, da, de, es, fr, fr-CA, it, ja, nb, nl, pl, pt-BR, ru, sv, zh, zh-CN; with a template any of Twilio's Verify locales (its translation, else its fallback); otherwise Twilio's other locales are refused with 60200 (not written yet), anything else with 60200",
    ),
    refused("CustomCode", EMPTY, NO_CUSTOM_CODE),
    honoured(
        "Amount",
        "with `Payee`, on a service with `Psd2Enabled`: the code is bound to them (seccode's `Transaction`), the message names them, and they are returned; 60200 elsewhere",
    ),
    honoured("Payee", "as `Amount`"),
    honoured(
        "RateLimits",
        "counted on the service's rate limits and buckets (60203 when used up)",
    ),
    honoured(
        "ChannelConfiguration",
        "for the email channel: `from` (an address at `email.from`'s domain or one of `email.sender_domains`) and `from_name` (1 to 64 characters) are the email's sender; `template_id` names one of the server's `[[email_templates]]` (subject, text, HTML; the code at `{{twilio_code}}`) and `substitutions` fills its variables (strings; escaped in the HTML; every variable needs a value and every value a variable); anything else, or the parameter on another channel, answers 60200",
    ),
    honoured(
        "AppHash",
        "ends the SMS on a line of its own (Android's SMS Retriever); 11 base64 characters, 60200 otherwise",
    ),
    honoured(
        "TemplateSid",
        "one of the server's `[[templates]]` (`/v2/Templates`) serving the channel (`sms`, or `voice` for a call; 60200 otherwise): its translation for the locale (else its language's, else its default) is the SMS or the call, `{{friendly_name}}` the service's name or `CustomFriendlyName`; a payment's amount and payee and the app hash still follow it; an SMS must fit one segment (60200 otherwise)",
    ),
    honoured(
        "TemplateCustomSubstitutions",
        "a JSON object of strings (1 to 128 characters) filling the template's own `{{Name}}` variables: every one needs a value and every value a variable (60200 otherwise, as without a template)",
    ),
    honoured(
        "DeviceIp",
        "validated as an IPv4 or IPv6 address (60200 otherwise); not used further",
    ),
    refused(
        "EnableSnaClientToken",
        OFF,
        "silent network authentication is not supported",
    ),
    refused(
        "RiskCheck",
        &["enable", ""],
        "the server's send budgets always apply; they cannot be disabled",
    ),
    honoured(
        "Tags",
        "a JSON object of at most 10 strings (keys and values of 1 to 128 characters; 60200 otherwise), kept with the send attempt and carried by the Verify Events of its verification (each attempt's `tags`), as on Twilio; not returned by the API",
    ),
];

/// The parameters of `UpdateVerification`.
const VERIFICATION_UPDATE: &[Param] = &[honoured(
    "Status",
    "`canceled` or `approved` (60200 otherwise)",
)];

/// The parameters of `CreateVerificationCheck`.
const CHECK: &[Param] = &[
    honoured("Code", "compared with the verification's code"),
    honoured(
        "To",
        "names the latest verification to that contact (any common notation)",
    ),
    honoured("VerificationSid", "names the verification"),
    honoured(
        "Amount",
        "with `Payee`: the check approves only if they are the payment the code is bound to; another amount or payee — or none, for a bound code — fails as a wrong code does, and counts",
    ),
    honoured("Payee", "as `Amount`"),
    refused(
        "SnaClientToken",
        EMPTY,
        "silent network authentication is not supported",
    ),
];

/// The parameters of `CreateRateLimit`.
const RATE_LIMIT: &[Param] = &[
    honoured(
        "UniqueName",
        "stored and returned; the key a verification's `RateLimits` names",
    ),
    honoured("Description", "stored and returned"),
];

/// The parameters of `UpdateRateLimit`.
const RATE_LIMIT_UPDATE: &[Param] = &[honoured("Description", "stored and returned")];

/// The parameters of `CreateBucket` and `UpdateBucket`.
const BUCKET: &[Param] = &[
    honoured("Max", "requests per interval, enforced (60203 past it)"),
    honoured("Interval", "the interval in seconds, enforced"),
];

/// The parameters of `CreateEntity`.
const ENTITY: &[Param] = &[honoured(
    "Identity",
    "stored and returned; 8 to 64 letters, digits and dashes; 60301 (409) if the service has it",
)];

const PUSH_ONLY: &str = "push factors are not supported (TOTP only)";

/// The `Config.*` code settings of a TOTP factor.
const TOTP_CONFIG_CODE_LENGTH: &str = "stored and returned; 6 to 8 digits (3 to 5 refused with 60200: one guess in 10³–10⁵ per step is too likely)";
const TOTP_CONFIG_TIME_STEP: &str = "stored and returned; the step, 20 to 60 seconds";
const TOTP_CONFIG_SKEW: &str =
    "stored and returned; steps accepted either side of the current one, 0 to 2";
const TOTP_CONFIG_ALG: &str = "stored and returned; sha1, sha256 or sha512";

/// The parameters of `CreateNewFactor`.
const FACTOR: &[Param] = &[
    honoured(
        "FriendlyName",
        "stored and returned (1 to 64 characters); the account name in `binding.uri`",
    ),
    honoured(
        "FactorType",
        "`totp`; `push` and `passkeys` refused with 60200",
    ),
    refused("Binding.Alg", EMPTY, PUSH_ONLY),
    refused("Binding.PublicKey", EMPTY, PUSH_ONLY),
    refused("Config.AppId", EMPTY, PUSH_ONLY),
    refused("Config.NotificationPlatform", EMPTY, PUSH_ONLY),
    refused("Config.NotificationToken", EMPTY, PUSH_ONLY),
    refused("Config.SdkVersion", EMPTY, PUSH_ONLY),
    honoured(
        "Binding.Secret",
        "the secret (base32, at least 128 bits); drawn (160 bits for sha1) when absent; kept sealed under the code key and returned once, in this answer",
    ),
    honoured("Config.TimeStep", TOTP_CONFIG_TIME_STEP),
    honoured("Config.Skew", TOTP_CONFIG_SKEW),
    honoured("Config.CodeLength", TOTP_CONFIG_CODE_LENGTH),
    honoured("Config.Alg", TOTP_CONFIG_ALG),
    refused(
        "Metadata",
        EMPTY,
        "device metadata is for push factors (TOTP only)",
    ),
];

/// The parameters of `UpdateFactor`.
const FACTOR_UPDATE: &[Param] = &[
    honoured(
        "AuthPayload",
        "a code from the app: counted on the entity's failures first, then a right one verifies the factor (`status`); each step accepted once",
    ),
    honoured("FriendlyName", "stored and returned (1 to 64 characters)"),
    refused("Config.NotificationToken", EMPTY, PUSH_ONLY),
    refused("Config.SdkVersion", EMPTY, PUSH_ONLY),
    honoured("Config.TimeStep", TOTP_CONFIG_TIME_STEP),
    honoured("Config.Skew", TOTP_CONFIG_SKEW),
    honoured("Config.CodeLength", TOTP_CONFIG_CODE_LENGTH),
    honoured("Config.Alg", TOTP_CONFIG_ALG),
    refused("Config.NotificationPlatform", EMPTY, PUSH_ONLY),
];

/// The parameters of `CreateChallenge`.
const CHALLENGE: &[Param] = &[
    honoured(
        "FactorSid",
        "the verified factor the code must come from (60318 if unverified)",
    ),
    honoured(
        "ExpirationDate",
        "when the challenge expires (ISO 8601; after now and at most 60 minutes after it, 60200 otherwise; 5 minutes without it), returned as `expiration_date`; a code after it does not approve",
    ),
    refused("Details.Message", EMPTY, PUSH_ONLY),
    refused("Details.Fields", EMPTY, PUSH_ONLY),
    honoured(
        "HiddenDetails",
        "stored and returned (a JSON object of strings, at most 1024 characters)",
    ),
    honoured(
        "AuthPayload",
        "a code from the app, checked at once: `approved` if right, else `pending` (counted on the entity's failures first)",
    ),
];

/// The parameters of `UpdateChallenge`.
const CHALLENGE_UPDATE: &[Param] = &[
    honoured(
        "AuthPayload",
        "a code from the app: a pending challenge becomes `approved` if it is right (counted on the entity's failures first)",
    ),
    refused(
        "Metadata",
        EMPTY,
        "device metadata is for push factors (TOTP only)",
    ),
];

/// The parameters of `CreateSafelist`.
const SAFE_LIST: &[Param] = &[honoured(
    "PhoneNumber",
    "stored (in E.164) and returned; verifications to it skip the caps on spend that guard against SMS pumping (its calling code's, the server's), and only those",
)];

/// The parameters of `CreateWebhook` and `UpdateWebhook`.
const WEBHOOK: &[Param] = &[
    honoured("FriendlyName", "stored and returned (1 to 64 characters)"),
    honoured(
        "EventTypes",
        "stored and returned; `*` (Twilio's factor and challenge events), `factor.created`, `factor.verified`, `factor.deleted`, `challenge.approved`, `challenge.denied` (never sent: TOTP challenges are not denied), and the Verify Events `com.twilio.accountsecurity.verify.verification.pending`, `.approved`, `.canceled`, `.expired`, `.max-attempts-reached` (sent for services with `VerifyEventSubscriptionEnabled`); each event goes to the enabled webhooks subscribed to it",
    ),
    honoured(
        "WebhookUrl",
        "stored and returned; events are POSTed there, signed with the account's auth token as Twilio signs webhooks (`X-Twilio-Signature`; a JSON body bound by `bodySHA256`), with `I-Twilio-Idempotency-Token`, retried with doubling waits until answered 2xx; not on the server's machine or a private network unless configured (a host name is resolved at each delivery and only its public addresses are reached)",
    ),
    honoured(
        "Status",
        "stored and returned; a `disabled` webhook is sent nothing",
    ),
    refused(
        "Version",
        &["v2", ""],
        "the legacy v1 fields are not sent: v2 only",
    ),
];

/// The parameters of `CreateMessagingConfiguration`.
const MESSAGING: &[Param] = &[
    honoured(
        "Country",
        "stored and returned (ISO 3166-1 alpha-2, any case, or `all`); SMS to a number of that country — or, for `all`, of a country without its own — go out from the configuration's Messaging Service",
    ),
    MESSAGING_SERVICE,
];

/// `MessagingServiceSid` of a messaging configuration.
const MESSAGING_SERVICE: Param = honoured(
    "MessagingServiceSid",
    "stored and returned; the SMS go to the SMS channel with it as their sender: Twilio's Messages API gets it as `MessagingServiceSid` in place of the configured `from`, a webhook gateway as `sender`; one of the account's `senders` when it is configured with them (60200 otherwise)",
);

/// Every implemented operation with a request body.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "CreateService",
        params: SERVICE,
    },
    Operation {
        id: "UpdateService",
        params: SERVICE,
    },
    Operation {
        id: "CreateVerification",
        params: VERIFICATION,
    },
    Operation {
        id: "UpdateVerification",
        params: VERIFICATION_UPDATE,
    },
    Operation {
        id: "CreateVerificationCheck",
        params: CHECK,
    },
    Operation {
        id: "CreateRateLimit",
        params: RATE_LIMIT,
    },
    Operation {
        id: "UpdateRateLimit",
        params: RATE_LIMIT_UPDATE,
    },
    Operation {
        id: "CreateBucket",
        params: BUCKET,
    },
    Operation {
        id: "UpdateBucket",
        params: BUCKET,
    },
    Operation {
        id: "CreateEntity",
        params: ENTITY,
    },
    Operation {
        id: "CreateNewFactor",
        params: FACTOR,
    },
    Operation {
        id: "UpdateFactor",
        params: FACTOR_UPDATE,
    },
    Operation {
        id: "CreateChallenge",
        params: CHALLENGE,
    },
    Operation {
        id: "UpdateChallenge",
        params: CHALLENGE_UPDATE,
    },
    Operation {
        id: "CreateSafelist",
        params: SAFE_LIST,
    },
    Operation {
        id: "CreateMessagingConfiguration",
        params: MESSAGING,
    },
    Operation {
        id: "UpdateMessagingConfiguration",
        params: &[MESSAGING_SERVICE],
    },
    Operation {
        id: "CreateWebhook",
        params: WEBHOOK,
    },
    Operation {
        id: "UpdateWebhook",
        params: WEBHOOK,
    },
];

/// The parameters of the operation `id` (`None` for an operation without a
/// request body, or one this server does not implement).
pub fn params_of(id: &str) -> Option<&'static [Param]> {
    OPERATIONS.iter().find(|o| o.id == id).map(|o| o.params)
}

/// The 60200 message for the first parameter of `params` that `form` sets to
/// anything but a default the server can honour; `None` when every
/// parameter is honoured.
pub fn first_refused(form: &HashMap<String, String>, params: &[Param]) -> Option<String> {
    params.iter().find_map(|p| match p.treatment {
        Treatment::Refused { defaults, why } => {
            let value = form.get(p.name)?;
            (!defaults.contains(&value.trim())).then(|| {
                format!(
                    "Invalid parameter: {} is not supported by this server ({why})",
                    p.name
                )
            })
        }
        Treatment::Honoured(_) => None,
    })
}

/// The fidelity table of `server/README.md`: every parameter of every
/// implemented operation with what the server does with it.
pub fn fidelity_table() -> String {
    let mut out = String::from("| operation | parameter | this server |\n|---|---|---|\n");
    let (mut honoured, mut refused) = (0, 0);
    for op in OPERATIONS {
        for p in op.params {
            let what = match p.treatment {
                Treatment::Honoured(how) => {
                    honoured += 1;
                    format!("honoured: {how}")
                }
                Treatment::Refused { why, .. } => {
                    refused += 1;
                    format!("refused unless left at its default: {why}")
                }
            };
            out.push_str(&format!("| `{}` | `{}` | {what} |\n", op.id, p.name));
        }
    }
    out.push_str(&format!(
        "\n{honoured} parameters honoured, {refused} refused unless left at their default.\n"
    ));
    out
}
