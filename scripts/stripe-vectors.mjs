// Generates Stripe-Signature test vectors with Stripe's official Node SDK (npm `stripe`).
//
// Run from the repository root:
//   node_modules/.bin/node scripts/stripe-vectors.mjs
// Writes crates/domain/fixtures/webhook/stripe-sdk-vectors.json, which the Rust verifier is
// tested against (crates/domain/tests/domain/webhook.rs). Every secret here is a fake,
// local-only value. The output is deterministic: fixed timestamps, fixed payloads.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'crates/domain/fixtures/webhook/stripe-sdk-vectors.json');
const stripe = new Stripe('sk_test_local_fake');
const pkg = JSON.parse(readFileSync(join(root, 'node_modules/stripe/package.json'), 'utf8'));

const SECRET_A = 'whsec_local_test_vector_secret_a';
const SECRET_B = 'whsec_local_test_vector_secret_b';
const SECRET_C = 'whsec_local_test_vector_secret_c';
const NOW = 1764300000;
const TOLERANCE = 300;

const payload = JSON.stringify({
  id: 'evt_test_vector_0001',
  object: 'event',
  api_version: '2026-02-25.clover',
  created: NOW - 10,
  type: 'invoice.paid',
  livemode: false,
  data: { object: { id: 'in_test_vector_0001', object: 'invoice', customer_name: 'Zoë Example' } },
});

const sign = (secret, timestamp, body = payload, scheme) =>
  stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp, scheme });
const v1Of = (header) => header.split(',').filter((part) => part.startsWith('v1='));
const tPart = (header) => header.split(',').find((part) => part.startsWith('t='));

// The SDK's own verdict: accepted if constructEvent accepts it with any configured secret,
// with the clock fixed through its `receivedAt` (milliseconds) argument.
function sdkAccepts(header, body, secrets, now) {
  const list = secrets.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return list.some((secret) => {
    try {
      stripe.webhooks.constructEvent(body, header ?? undefined, secret, TOLERANCE, undefined, now * 1000);
      return true;
    } catch {
      return false;
    }
  });
}

const valid = sign(SECRET_A, NOW - 10);
const signedA = sign(SECRET_A, NOW - 5);
const signedB = sign(SECRET_B, NOW - 5);
const rotation = [tPart(signedA), ...v1Of(signedA), ...v1Of(signedB)].join(',');
const v0Only = sign(SECRET_A, NOW - 5, payload, 'v0');
const goodSig = v1Of(signedA)[0];

const cases = [
  { name: 'valid', header: valid, secrets: SECRET_A, expected: 'ok' },
  { name: 'wrong_secret', header: sign(SECRET_B, NOW - 10), secrets: SECRET_A, expected: 'signature_mismatch' },
  {
    name: 'tampered_body',
    header: valid,
    payload: payload.replace('"livemode":false', '"livemode":true'),
    secrets: SECRET_A,
    expected: 'signature_mismatch',
  },
  { name: 'stale', header: sign(SECRET_A, NOW - TOLERANCE - 1), secrets: SECRET_A, expected: 'timestamp_out_of_tolerance' },
  { name: 'tolerance_boundary', header: sign(SECRET_A, NOW - TOLERANCE), secrets: SECRET_A, expected: 'ok' },
  { name: 'stale_and_wrong_secret', header: sign(SECRET_B, NOW - 3600), secrets: SECRET_A, expected: 'signature_mismatch' },
  { name: 'future_timestamp', header: sign(SECRET_A, NOW + 3600), secrets: SECRET_A, expected: 'ok' },
  { name: 'rotation_header_old_secret', header: rotation, secrets: SECRET_A, expected: 'ok' },
  { name: 'rotation_header_new_secret', header: rotation, secrets: SECRET_B, expected: 'ok' },
  { name: 'rotation_header_unknown_secret', header: rotation, secrets: SECRET_C, expected: 'signature_mismatch' },
  { name: 'rotation_config_both_secrets', header: signedB, secrets: `${SECRET_A},${SECRET_B}`, expected: 'ok' },
  { name: 'rotation_config_whitespace_and_empty', header: signedA, secrets: ` , ${SECRET_C} ,${SECRET_A} ,`, expected: 'ok' },
  { name: 'rotation_config_neither_secret', header: signedA, secrets: `${SECRET_B},${SECRET_C}`, expected: 'signature_mismatch' },
  { name: 'v0_scheme_ignored', header: `${tPart(v0Only)},${v0Only.split(',')[1]},${goodSig}`, secrets: SECRET_A, expected: 'ok' },
  { name: 'v0_scheme_only', header: v0Only, secrets: SECRET_A, expected: 'signature_malformed' },
  { name: 'missing_header', header: null, secrets: SECRET_A, expected: 'signature_missing' },
  { name: 'empty_header', header: '', secrets: SECRET_A, expected: 'signature_missing' },
  { name: 'no_timestamp', header: goodSig, secrets: SECRET_A, expected: 'signature_malformed' },
  { name: 'no_v1', header: tPart(signedA), secrets: SECRET_A, expected: 'signature_malformed' },
  { name: 'garbage_timestamp', header: `t=abc,${goodSig}`, secrets: SECRET_A, expected: 'signature_malformed' },
  { name: 'non_hex_v1', header: `${tPart(signedA)},v1=${'zz'.repeat(32)}`, secrets: SECRET_A, expected: 'signature_malformed' },
  { name: 'garbage_header', header: 'not a signature header', secrets: SECRET_A, expected: 'signature_malformed' },
].map((c) => {
  const body = c.payload ?? payload;
  return {
    name: c.name,
    header: c.header,
    payload: body,
    secrets: c.secrets,
    now: NOW,
    expected: c.expected,
    sdk_accepts: sdkAccepts(c.header, body, c.secrets, NOW),
  };
});

const validCase = cases.find((c) => c.name === 'valid');
const document = {
  generated_by: `scripts/stripe-vectors.mjs with npm stripe ${pkg.version}`,
  note: 'Fake local secrets only. sdk_accepts = stripe.webhooks.constructEvent(payload, header, secret, 300, undefined, now*1000) accepts with some configured secret.',
  tolerance_seconds: TOLERANCE,
  valid_signer: { secret: SECRET_A, timestamp: NOW - 10, payload, header: validCase.header },
  sdk_construct_event_accepts_valid: validCase.sdk_accepts,
  cases,
};

writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${cases.length} cases to ${out}`);
