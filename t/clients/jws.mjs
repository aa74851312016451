// t/clients/jws.mjs — a test helper that makes keys and signs compact JWSes for
// the Apache::Test files (t/45_dpop.t, t/46_private_key_jwt.t), with node:crypto
// only: it can sign what no library would (alg none, HS256 with a public key as
// the secret, a private JWK in the header), so that each refusal can be tested.
//
// stdin: a JSON array of jobs; stdout: a JSON array of results, one per job.
//   {"gen": "ec" | "ed25519" | "rsa"}           -> a private JWK
//   {"key": JWK, "header": {...}, "claims": {...}, "alg": "ES256"}  -> compact JWS
//       alg "none": no signature; alg "HS256": HMAC with "secret" (a string)
//   {"thumbprint": JWK}                          -> RFC 7638 SHA-256, base64url
//   {"ath": "token"}                             -> base64url(SHA-256(token))
import crypto from 'node:crypto';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

function gen(type) {
  const opts = type === 'rsa' ? { modulusLength: 2048 } : type === 'ec' ? { namedCurve: 'P-256' } : {};
  const { privateKey } = crypto.generateKeyPairSync(type === 'ec' ? 'ec' : type, opts);
  return privateKey.export({ format: 'jwk' });
}

function thumbprint(jwk) {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y']
    : jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : ['crv', 'kty', 'x'];
  const o = {};
  for (const m of members) o[m] = jwk[m];
  return b64u(crypto.createHash('sha256').update(JSON.stringify(o)).digest());
}

function sign(job) {
  const input = b64u(JSON.stringify({ alg: job.alg, ...job.header })) + '.' +
                b64u(JSON.stringify(job.claims));
  let sig = '';
  if (job.alg === 'HS256') {
    sig = b64u(crypto.createHmac('sha256', job.secret).update(input).digest());
  } else if (job.alg !== 'none') {
    const key = crypto.createPrivateKey({ key: job.key, format: 'jwk' });
    const alg = job.alg === 'EdDSA' || job.alg === 'Ed25519' ? null : 'sha256';
    sig = b64u(crypto.sign(alg, Buffer.from(input), job.alg === 'ES256'
      ? { key, dsaEncoding: 'ieee-p1363' } : key));
  }
  return input + '.' + sig;
}

let text = '';
process.stdin.on('data', (d) => { text += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(text).map((job) =>
    job.gen ? gen(job.gen)
      : job.thumbprint ? thumbprint(job.thumbprint)
      : job.ath !== undefined ? b64u(crypto.createHash('sha256').update(job.ath).digest())
      : sign(job));
  process.stdout.write(JSON.stringify(out));
});
