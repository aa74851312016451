// bench/proofs.mjs — single-use JWTs for the wrk cases dpop_cc, pkjwt_cc and
// dpop_protected of bench/run, signed with node:crypto (ES256), one a line on stdout:
//   node proofs.mjs key                              a private EC P-256 JWK (JSON)
//   node proofs.mjs public KEYFILE                   its public JWK (JSON)
//   node proofs.mjs dpop KEYFILE HTM HTU COUNT       DPoP proofs (RFC 9449 §4.2)
//   node proofs.mjs rs KEYFILE HTU TOKENS COUNT      "token proof" lines: GET proofs
//                                                    with ath, the tokens of the file
//                                                    TOKENS (one a line) in turn
//   node proofs.mjs assert KEYFILE CLIENT AUD COUNT  private_key_jwt assertions (RFC 7523)
// Every JWT has its own jti; iat is now + 30 s (a proof passes while |iat - now| <= 60 s,
// so a file made just before a 10 s run is good for 90 s), an assertion's exp now + 240.
import crypto from 'node:crypto';
import fs from 'node:fs';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const [mode, keyfile, ...rest] = process.argv.slice(2);

if (mode === 'key') {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  process.stdout.write(JSON.stringify(privateKey.export({ format: 'jwk' })) + '\n');
  process.exit(0);
}
const jwk = JSON.parse(fs.readFileSync(keyfile, 'utf8'));
const pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
if (mode === 'public') {
  process.stdout.write(JSON.stringify(pub) + '\n');
  process.exit(0);
}
const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
const run = crypto.randomBytes(6).toString('hex');
const now = Math.floor(Date.now() / 1000);

function jws(header, claims) {
  const input = b64u(JSON.stringify({ alg: 'ES256', ...header })) + '.' + b64u(JSON.stringify(claims));
  return input + '.' + b64u(crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }));
}

const proof = (htm, htu, i, extra) =>
  jws({ typ: 'dpop+jwt', jwk: pub }, { jti: `${run}-${i}`, htm, htu, iat: now + 30, ...extra });

const out = [];
const flush = () => { process.stdout.write(out.join('\n') + '\n'); out.length = 0; };
if (mode === 'dpop') {
  const [htm, htu, count] = rest;
  for (let i = 0; i < +count; i++) { out.push(proof(htm, htu, i)); if (out.length >= 10000) flush(); }
} else if (mode === 'rs') {
  const [htu, tokfile, count] = rest;
  const toks = fs.readFileSync(tokfile, 'utf8').split('\n').filter((l) => l);
  const ath = toks.map((t) => b64u(crypto.createHash('sha256').update(t).digest()));
  for (let i = 0; i < +count; i++) {
    const k = i % toks.length;
    out.push(toks[k] + ' ' + proof('GET', htu, i, { ath: ath[k] }));
    if (out.length >= 10000) flush();
  }
} else if (mode === 'assert') {
  const [client, aud, count] = rest;
  for (let i = 0; i < +count; i++) {
    out.push(jws({}, { iss: client, sub: client, aud, jti: `${run}-${i}`, iat: now, exp: now + 240 }));
    if (out.length >= 10000) flush();
  }
} else {
  process.stderr.write('usage: see the head of bench/proofs.mjs\n');
  process.exit(2);
}
if (out.length) flush();
