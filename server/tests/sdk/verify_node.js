// Twilio's official Node SDK, unchanged, against seccode-server.
//
// Run by server/tests/sdk.rs with SECCODE_URL, ACCOUNT_SID, AUTH_TOKEN, SMS_DIR,
// MAIL_DIR and SCHEMA (see verify_python.py); NODE_PATH finds the `twilio`
// package. Every response is checked against the excerpt's schema for its
// path and status by a small validator for the schema features the excerpt
// uses (type, nullable, properties, items, enum, $ref). Exits non-zero on the
// first failure.
"use strict";

const fs = require("fs");
const path = require("path");
const assert = require("assert");
const twilio = require("twilio");

const URL = process.env.SECCODE_URL;
const SID = process.env.ACCOUNT_SID;
const TOKEN = process.env.AUTH_TOKEN;
const SPEC = JSON.parse(fs.readFileSync(process.env.SCHEMA, "utf8"));
let validated = 0;

function resolve(schema) {
  while (schema && schema.$ref) {
    schema = schema.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((node, key) => node[key], SPEC);
  }
  return schema;
}

function check(value, schema, where) {
  schema = resolve(schema);
  if (!schema) return;
  if (value === null) {
    assert(schema.nullable || !schema.type, `${where}: null where ${schema.type} is not nullable`);
    return;
  }
  const types = { string: "string", integer: "number", number: "number", boolean: "boolean", object: "object", array: "object" };
  if (schema.type) {
    assert.strictEqual(typeof value, types[schema.type], `${where}: expected ${schema.type}`);
    if (schema.type === "array") assert(Array.isArray(value), `${where}: expected an array`);
    if (schema.type === "integer") assert(Number.isInteger(value), `${where}: expected an integer`);
  }
  if (schema.enum) assert(schema.enum.includes(value), `${where}: ${value} not in ${schema.enum}`);
  if (typeof value === "string" && schema.pattern) {
    assert(new RegExp(schema.pattern).test(value), `${where}: ${value} !~ ${schema.pattern}`);
  }
  if (schema.properties && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (key in value) check(value[key], sub, `${where}.${key}`);
    }
  }
  if (schema.items && Array.isArray(value)) {
    value.forEach((item, i) => check(item, schema.items, `${where}[${i}]`));
  }
}

const templates = Object.keys(SPEC.paths).map((t) => [
  new RegExp("^" + t.replace(/\{[^}]+\}/g, "[^/]+") + "$"),
  t,
]);

function validateLast(client) {
  const request = client.httpClient.lastRequest;
  const response = client.httpClient.lastResponse;
  const p = new globalThis.URL(request.url).pathname;
  const template = templates.find(([re]) => re.test(p))[1];
  const body = typeof response.body === "string" && response.body ? JSON.parse(response.body) : response.body;
  if (response.statusCode >= 400) {
    assert.deepStrictEqual(Object.keys(body).sort(), ["code", "message", "more_info", "status"]);
    assert.strictEqual(body.status, response.statusCode);
  } else {
    const answer = SPEC.paths[template][request.method.toLowerCase()].responses[String(response.statusCode)];
    assert(answer, `${request.method} ${template}: undocumented status ${response.statusCode}`);
    if (answer.content) check(body, answer.content["application/json"].schema, `${request.method} ${template}`);
  }
  validated += 1;
}

async function latest(dir, match) {
  const end = Date.now() + 10000;
  while (Date.now() < end) {
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort((a, b) => parseInt(a) - parseInt(b))
      .reverse();
    for (const f of files) {
      const found = match(JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")));
      if (found) return found;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no message arrived in ${dir}`);
}

const smsCode = (to) => latest(process.env.SMS_DIR, (m) => m.to === to && m.code);
const mailCode = (to) =>
  latest(process.env.MAIL_DIR, (m) => {
    if (!(m.envelope_to || []).includes(to)) return null;
    const found = /\b\d{6}\b/.exec(m.parts[0].content);
    return found && found[0];
  });
// The code an authenticator app shows at `at` (seconds) for a base32
// `secret` (RFC 6238 with HMAC-SHA1), written here from the RFC.
function totp(secret, at, step = 60, digits = 6) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / step)));
  const mac = require("crypto").createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(number).padStart(digits, "0");
}

const wrong = (code) => String((Number(code[0]) + 1) % 10) + code.slice(1);

async function expectError(client, status, code, call) {
  try {
    await call();
  } catch (e) {
    assert.deepStrictEqual([e.status, e.code], [status, code], e.message);
    validateLast(client);
    return e;
  }
  throw new Error(`expected ${status}/${code}`);
}

// An HTTP receiver on a free loopback port that keeps every request and
// answers 200: where a service's webhooks go.
async function webhookReceiver() {
  const got = [];
  const server = require("http").createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      got.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { base: `http://127.0.0.1:${server.address().port}`, got, server };
}

// Webhooks: each event passes Twilio's own validateRequest /
// validateRequestWithBody with the account's auth token (a tampered one
// does not).
async function checkWebhooks(client) {
  const { base, got, server } = await webhookReceiver();
  const v2 = client.verify.v2;
  const service = await v2.services.create({ friendlyName: "Node hooks", verifyEventSubscriptionEnabled: true });
  validateLast(client);
  assert.strictEqual(service.verifyEventSubscriptionEnabled, true);
  const svc = v2.services(service.sid);
  const prefix = "com.twilio.accountsecurity.verify.verification.";
  const hook = await svc.webhooks.create({
    friendlyName: "all events",
    eventTypes: ["*", prefix + "pending", prefix + "approved"],
    webhookUrl: base + "/hooks?app=node",
  });
  validateLast(client);
  assert(hook.sid.startsWith("YW"));
  assert.strictEqual(hook.status, "enabled");
  await expectError(client, 400, 60200, () =>
    svc.webhooks.create({ friendlyName: "bad", eventTypes: ["nope"], webhookUrl: base }),
  );
  const to = "+15017122691";
  const verification = await svc.verifications.create({ to, channel: "sms" });
  const code = await smsCode(to);
  const checked = await svc.verificationChecks.create({ verificationSid: verification.sid, code });
  assert.strictEqual(checked.status, "approved");
  const factor = await svc.entities("node-webhooks-0001").newFactors.create({ friendlyName: "Node phone", factorType: "totp" });
  const end = Date.now() + 15000;
  while (got.length < 3) {
    assert(Date.now() < end, `the events did not arrive: ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const kinds = new Set();
  for (const { path: p, headers, body } of got) {
    const url = base + p;
    const signature = headers["x-twilio-signature"];
    if (headers["content-type"] === "application/json") {
      assert(twilio.validateRequestWithBody(TOKEN, signature, url, body), url);
      assert(!twilio.validateRequestWithBody(TOKEN, signature, url, body + " "));
      const event = JSON.parse(body)[0];
      assert.strictEqual(event.data.verification_sid, verification.sid);
      assert(!body.includes(to) && !body.includes(code));
      kinds.add(event.type);
    } else {
      const params = Object.fromEntries(new globalThis.URLSearchParams(body));
      assert(twilio.validateRequest(TOKEN, signature, url, params), url);
      assert(!twilio.validateRequest(TOKEN, signature, url, { ...params, factor_sid: "YF" + "0".repeat(32) }));
      assert.strictEqual(params.factor_sid, factor.sid);
      kinds.add(params.type);
    }
  }
  assert.deepStrictEqual([...kinds].sort(), ["factor.created", prefix + "approved", prefix + "pending"].sort());
  const hooks = await svc.webhooks.list();
  validateLast(client);
  assert.deepStrictEqual(hooks.map((h) => h.sid), [hook.sid]);
  const disabled = await svc.webhooks(hook.sid).update({ status: "disabled" });
  validateLast(client);
  assert.strictEqual(disabled.status, "disabled");
  assert.strictEqual(await svc.webhooks(hook.sid).remove(), true);
  await expectError(client, 404, 20404, () => svc.webhooks(hook.sid).fetch());
  server.close();
}

// A service's Messaging Configurations through the SDK: an SMS to a British
// number goes out from the GB one.
async function checkMessagingConfigurations(client) {
  const v2 = client.verify.v2;
  const service = await v2.services.create({ friendlyName: "Node senders" });
  const svc = v2.services(service.sid);
  const mg = "MG0123456789abcdef0123456789abcdef";
  const created = await svc.messagingConfigurations.create({ country: "GB", messagingServiceSid: mg });
  validateLast(client);
  assert.deepStrictEqual([created.country, created.messagingServiceSid], ["GB", mg]);
  await svc.verifications.create({ to: "+447400123491", channel: "sms" });
  const sent = await latest(process.env.SMS_DIR, (m) => (m.to === "+447400123491" ? m : null));
  assert.strictEqual(sent.sender, mg);
  const later = "MGfedcba9876543210fedcba9876543210";
  const updated = await svc.messagingConfigurations("GB").update({ messagingServiceSid: later });
  validateLast(client);
  assert.strictEqual(updated.messagingServiceSid, later);
  const listed = await svc.messagingConfigurations.list();
  validateLast(client);
  assert.deepStrictEqual(listed.map((c) => c.country), ["GB"]);
  assert.strictEqual(await svc.messagingConfigurations("GB").remove(), true);
  await expectError(client, 404, 20404, () => svc.messagingConfigurations("GB").fetch());
}

// Message templates through the SDK: the configured ones listed (and
// filtered), a verification's templateSid with its custom substitutions and
// locale, and a service's defaultTemplateSid — each SMS in the template's
// words, the code verifying as any other.
async function checkTemplates(client) {
  const v2 = client.verify.v2;
  const base = "HJ0123456789abcdef0123456789abcdef";
  const custom = "HJfedcba9876543210fedcba9876543210";
  const templates = await v2.templates.list();
  validateLast(client);
  assert.deepStrictEqual(templates.map((t) => t.sid), [base, custom]);
  assert.deepStrictEqual(templates[0].channels, ["sms", "voice"]);
  assert(templates[0].translations.fr.text.startsWith("Votre code"));
  const named = await v2.templates.list({ friendlyName: "App and" });
  validateLast(client);
  assert.deepStrictEqual(named.map((t) => t.sid), [custom]);

  const service = await v2.services.create({ friendlyName: "Node templates", defaultTemplateSid: base });
  validateLast(client);
  assert.strictEqual(service.defaultTemplateSid, base);
  const svc = v2.services(service.sid);
  const sms = (to) => latest(process.env.SMS_DIR, (m) => (m.to === to ? m : null));
  await svc.verifications.create({ to: "+447400123496", channel: "sms" });
  validateLast(client);
  let sent = await sms("+447400123496");
  assert.strictEqual(
    sent.text,
    `Your Node templates verification code is: ${sent.code}. Do not share this code with anyone.`,
  );
  const check = await svc.verificationChecks.create({ to: "+447400123496", code: sent.code });
  assert.strictEqual(check.status, "approved");

  await svc.verifications.create({
    to: "+447400123497",
    channel: "sms",
    templateSid: custom,
    templateCustomSubstitutions: JSON.stringify({ AppName: "MyApp", Contact: "help.example.com" }),
  });
  validateLast(client);
  sent = await sms("+447400123497");
  assert.strictEqual(sent.text, `MyApp: your code is ${sent.code}. Questions? help.example.com`);
  await svc.verifications.create({ to: "+447400123498", channel: "sms", templateSid: base, locale: "fi" });
  validateLast(client);
  sent = await sms("+447400123498");
  assert(sent.text.startsWith(`Node templates-vahvistuskoodisi on: ${sent.code}`), sent.text);
  await expectError(client, 400, 60200, () =>
    svc.verifications.create({
      to: "+447400123499",
      channel: "sms",
      templateSid: custom,
      templateCustomSubstitutions: "{}",
    }),
  );
  const cleared = await svc.update({ defaultTemplateSid: "" });
  validateLast(client);
  assert.strictEqual(cleared.defaultTemplateSid, null);
}

// A WhatsApp code through the SDK: a service with its WhatsApp sender, a
// verification on channel whatsapp delivered by the WhatsApp gateway (not by
// SMS) from that sender, approved by its code.
async function checkWhatsapp(client) {
  const v2 = client.verify.v2;
  const mg = "MG0123456789abcdef0123456789abcdef";
  const service = await v2.services.create({ friendlyName: "Node WhatsApp", "whatsapp.msgServiceSid": mg });
  validateLast(client);
  assert.strictEqual(service.whatsapp.msg_service_sid, mg);
  const svc = v2.services(service.sid);
  const started = await svc.verifications.create({ to: "+447400123481", channel: "whatsapp" });
  validateLast(client);
  assert.deepStrictEqual([started.channel, started.status], ["whatsapp", "pending"]);
  const sent = await latest(process.env.WHATSAPP_DIR, (m) => (m.to === "+447400123481" ? m : null));
  assert.strictEqual(sent.sender, mg);
  assert(sent.text.startsWith("Node WhatsApp: "), sent.text);
  const check = await svc.verificationChecks.create({ to: "+447400123481", code: sent.code });
  validateLast(client);
  assert.deepStrictEqual([check.status, check.channel], ["approved", "whatsapp"]);
  const updated = await svc.update({ "whatsapp.from": "whatsapp:+14155238886" });
  validateLast(client);
  assert.strictEqual(updated.whatsapp.from, "+14155238886");
}

// A call through the SDK: the digits to press once answered and the
// service's voice reach the voice gateway.
async function checkCall(client) {
  const v2 = client.verify.v2;
  const service = await v2.services.create({ friendlyName: "Node calls", ttsName: "Polly.Joanna" });
  const svc = v2.services(service.sid);
  const started = await svc.verifications.create({ to: "+447400123484", channel: "call", sendDigits: "ww1234#" });
  validateLast(client);
  assert.strictEqual(started.channel, "call");
  const call = await latest(process.env.CALLS_DIR, (m) => (m.to === "+447400123484" ? m : null));
  assert.deepStrictEqual([call.send_digits, call.voice_name], ["ww1234#", "Polly.Joanna"]);
  await expectError(client, 400, 60200, () =>
    svc.verifications.create({ to: "+447400123485", channel: "sms", sendDigits: "1" }),
  );
}

async function main() {
  const client = twilio(SID, TOKEN);
  client.verify.baseUrl = URL;
  const v2 = client.verify.v2;

  const service = await v2.services.create({ friendlyName: "Node SDK" });
  validateLast(client);
  assert(service.sid.startsWith("VA"));
  const svc = v2.services(service.sid);

  const rl = await svc.rateLimits.create({ uniqueName: "end_user_ip_address", description: "per IP" });
  validateLast(client);
  const bucket = await svc.rateLimits(rl.sid).buckets.create({ max: 10, interval: 60 });
  validateLast(client);
  assert.deepStrictEqual([bucket.max, bucket.interval], [10, 60]);

  const to = "+15017122662";
  const started = await svc.verifications.create({
    to,
    channel: "sms",
    rateLimits: { end_user_ip_address: "203.0.113.10" },
  });
  validateLast(client);
  assert.strictEqual(started.status, "pending");
  const code = await smsCode(to);
  let result = await svc.verificationChecks.create({ to, code: wrong(code) });
  validateLast(client);
  assert.deepStrictEqual([result.status, result.valid], ["pending", false]);
  result = await svc.verificationChecks.create({ to, code });
  validateLast(client);
  assert.deepStrictEqual([result.status, result.valid], ["approved", true]);
  const gone = await expectError(client, 404, 20404, () => svc.verifications(started.sid).fetch());
  assert(/approved/.test(gone.message), gone.message);

  const email = "node-sdk@example.org";
  const mailed = await svc.verifications.create({ to: email, channel: "email" });
  validateLast(client);
  const fetched = await svc.verifications(mailed.sid).fetch();
  validateLast(client);
  assert.deepStrictEqual([fetched.status, fetched.channel], ["pending", "email"]);
  result = await svc.verificationChecks.create({ verificationSid: mailed.sid, code: await mailCode(email) });
  validateLast(client);
  assert.strictEqual(result.status, "approved");

  const other = await svc.verifications.create({ to: "+14155550189", channel: "sms" });
  validateLast(client);
  const canceled = await svc.verifications(other.sid).update({ status: "canceled" });
  validateLast(client);
  assert.strictEqual(canceled.status, "canceled");
  await expectError(client, 404, 20404, () => svc.verifications(other.sid).fetch());

  await expectError(client, 400, 60200, () =>
    svc.verifications.create({ to, channel: "sms", customCode: "123456" }),
  );
  // A payment (PSD2) is refused without Psd2Enabled; with it, the code is
  // bound to the amount and payee.
  await expectError(client, 400, 60200, () =>
    svc.verifications.create({ to, channel: "sms", amount: "39.99", payee: "Acme" }),
  );
  const psd2 = await v2.services.create({ friendlyName: "Node PSD2", psd2Enabled: true });
  validateLast(client);
  assert.strictEqual(psd2.psd2Enabled, true);
  const payTo = "+14155550171";
  const paying = await v2.services(psd2.sid).verifications.create({
    to: payTo,
    channel: "sms",
    amount: "€39.99",
    payee: "Acme Inc.",
  });
  validateLast(client);
  assert.deepStrictEqual([paying.amount, paying.payee], ["€39.99", "Acme Inc."]);
  const payCode = await smsCode(payTo);
  const elsewhere = await v2.services(psd2.sid).verificationChecks.create({
    to: payTo,
    code: payCode,
    amount: "€399.99",
    payee: "Acme Inc.",
  });
  validateLast(client);
  assert.deepStrictEqual([elsewhere.status, elsewhere.valid], ["pending", false]);
  const paid = await v2.services(psd2.sid).verificationChecks.create({
    to: payTo,
    code: payCode,
    amount: "€39.99",
    payee: "Acme Inc.",
  });
  validateLast(client);
  assert.deepStrictEqual([paid.status, paid.valid, paid.amount], ["approved", true, "€39.99"]);
  // The safe list: a number added (in E.164), fetched and removed.
  const safe = await v2.safelist.create({ phoneNumber: "+1 (415) 555-0167" });
  validateLast(client);
  assert(safe.sid.startsWith("GN"));
  assert.strictEqual(safe.phoneNumber, "+14155550167");
  assert.strictEqual((await v2.safelist("+14155550167").fetch()).sid, safe.sid);
  validateLast(client);
  assert.strictEqual(await v2.safelist("+14155550167").remove(), true);
  validateLast(client);
  await expectError(client, 404, 20404, () => v2.safelist("+14155550167").fetch());
  // A number typed with spaces and brackets is answered in E.164.
  const typed = await svc.verifications.create({ to: "+1 (415) 555-0196", channel: "sms" });
  assert.strictEqual(typed.to, "+14155550196");
  const lockedTo = "+14155550188";
  await svc.verifications.create({ to: lockedTo, channel: "sms" });
  validateLast(client);
  const lockedCode = await smsCode(lockedTo);
  for (let i = 0; i < 5; i++) {
    const c = await svc.verificationChecks.create({ to: lockedTo, code: wrong(lockedCode) });
    validateLast(client);
    assert.strictEqual(c.valid, false);
  }
  await expectError(client, 429, 60202, () => svc.verificationChecks.create({ to: lockedTo, code: lockedCode }));
  const sendsTo = "+14155550187";
  for (let i = 0; i < 5; i++) {
    await svc.verifications.create({ to: sendsTo, channel: "sms" });
    validateLast(client);
  }
  await expectError(client, 429, 60203, () => svc.verifications.create({ to: sendsTo, channel: "sms" }));

  // TOTP: an entity, a factor (secret and URI once), verified by a first
  // code; challenges approved by its codes, each step once (60-second steps,
  // a skew of two, at least 15 s before a step ends: a bounded wait).
  const deadline = Date.now() + 20000;
  while ((Date.now() / 1000) % 60 > 45) {
    assert(Date.now() < deadline);
    await new Promise((r) => setTimeout(r, 200));
  }
  const identity = "node-sdk-entity-0001";
  const entity = await svc.entities.create({ identity });
  validateLast(client);
  assert(entity.sid.startsWith("YE"));
  await expectError(client, 409, 60301, () => svc.entities.create({ identity }));
  const user = svc.entities(identity);
  const factor = await user.newFactors.create({
    friendlyName: "Ada's phone",
    factorType: "totp",
    "config.timeStep": 60,
    "config.skew": 2,
  });
  validateLast(client);
  assert.deepStrictEqual([factor.status, factor.factorType], ["unverified", "totp"]);
  const secret = factor.binding.secret;
  assert(factor.binding.uri.startsWith("otpauth://totp/"), factor.binding.uri);
  await expectError(client, 403, 60318, () => user.challenges.create({ factorSid: factor.sid }));
  const now = Date.now() / 1000;
  let f = await user.factors(factor.sid).update({ authPayload: wrong(totp(secret, now - 120)) });
  validateLast(client);
  assert.strictEqual(f.status, "unverified");
  f = await user.factors(factor.sid).update({ authPayload: totp(secret, now - 120) });
  validateLast(client);
  assert.strictEqual(f.status, "verified");
  const approved = await user.challenges.create({
    factorSid: factor.sid,
    authPayload: totp(secret, now - 60),
    hiddenDetails: { ip: "203.0.113.8" },
  });
  validateLast(client);
  assert.strictEqual(approved.status, "approved");
  assert.deepStrictEqual(approved.hiddenDetails, { ip: "203.0.113.8" });
  // expirationDate: the SDK sends a Date, reads back the same instant.
  const expires = new Date((Math.floor(now) + 1800) * 1000);
  const pending = await user.challenges.create({ factorSid: factor.sid, expirationDate: expires });
  validateLast(client);
  assert.strictEqual(pending.expirationDate.getTime(), expires.getTime());
  let answered = await user.challenges(pending.sid).update({ authPayload: totp(secret, now - 60) });
  validateLast(client);
  assert.strictEqual(answered.status, "pending", "a step is accepted once");
  answered = await user.challenges(pending.sid).update({ authPayload: totp(secret, now) });
  validateLast(client);
  assert.strictEqual(answered.status, "approved");
  const approvedList = await user.challenges.list({ status: "approved", factorSid: factor.sid });
  validateLast(client);
  assert.strictEqual(approvedList.length, 2);
  assert.strictEqual(await user.factors(factor.sid).remove(), true);
  validateLast(client);
  assert.strictEqual(await user.remove(), true);
  validateLast(client);
  await expectError(client, 404, 20404, () => user.fetch());

  // Attempts: the messages sent, filtered, fetched, summed up.
  const attempts = await v2.verificationAttempts.list({ channel: "email" });
  validateLast(client);
  assert.deepStrictEqual(attempts.map((a) => a.channelData.to), [email]);
  const oneAttempt = await v2.verificationAttempts(attempts[0].sid).fetch();
  validateLast(client);
  assert.deepStrictEqual([oneAttempt.verificationSid, oneAttempt.conversionStatus], [mailed.sid, "converted"]);
  const summary = await v2.verificationAttemptsSummary().fetch({ channel: "email" });
  validateLast(client);
  assert.deepStrictEqual([summary.totalAttempts, summary.totalConverted], [1, 1]);

  for (let i = 0; i < 3; i++) {
    await v2.services.create({ friendlyName: `Node page ${i}` });
    validateLast(client);
  }
  const page = await v2.services.page({ pageSize: 2 });
  validateLast(client);
  assert.strictEqual(page.instances.length, 2);
  const second = await page.nextPage();
  validateLast(client);
  assert.strictEqual(second.instances.length, 2);
  const listed = await v2.services.list({ pageSize: 2 });
  validateLast(client);
  assert(listed.length >= 4, listed.length);
  const updated = await svc.update({ friendlyName: "Renamed by Node" });
  validateLast(client);
  assert.strictEqual(updated.friendlyName, "Renamed by Node");
  assert.strictEqual(await svc.remove(), true);
  validateLast(client);
  await expectError(client, 404, 20404, () => svc.fetch());

  const keyed = twilio(process.env.API_KEY_SID, process.env.API_KEY_SECRET, { accountSid: SID });
  keyed.verify.baseUrl = URL;
  const byKey = await keyed.verify.v2.services.create({ friendlyName: "Node key" });
  validateLast(keyed);
  assert.strictEqual(byKey.accountSid, SID);

  const stranger = twilio(SID, "not-the-token");
  stranger.verify.baseUrl = URL;
  await expectError(stranger, 401, 20003, () => stranger.verify.v2.services(listed[listed.length - 1].sid).fetch());

  await checkWebhooks(client);
  await checkMessagingConfigurations(client);
  await checkTemplates(client);
  await checkWhatsapp(client);
  await checkCall(client);

  console.log(`node sdk ok: ${validated} responses validated`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
