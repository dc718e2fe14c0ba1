// What must never appear in a log: bearer tokens (JWTs), private keys, and secret or password values
// that were not redacted. The test run scans everything the suite and its worker processes printed.

const PATTERNS = [
  { what: 'a JWT (bearer token)', pattern: /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}/g },
  { what: 'a private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/g },
  { what: 'a bearer authorization header', pattern: /\bBearer [\w.~+/-]{20,}=*/g },
  {
    what: 'a secret, password or token value',
    // `"clientSecret":"…"` (also JSON-escaped inside a JSON log line), `client_secret=…`, `password: '…'`,
    // `"access_token":"…"`, with anything but a redaction marker.
    pattern:
      /\\?["']?(?:client_?secret|clientSecret|password|passphrase|private_?key|access_token|refresh_token|id_token)\\?["']?\s*[:=]\s*\\?["']?(?!\[redacted\]|<redacted>|REDACTED|\*+|["'\s,}\\]|undefined|null|process\.env)[^"'\s,}&\\]{6,}/gi,
  },
];

/** Every place in `text` that looks like a secret, with a line of context (the secret itself cut short). */
export function scanForSecrets(text, source) {
  const findings = [];
  for (const { what, pattern } of PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const lineStart = text.lastIndexOf('\n', match.index) + 1;
      const line = text.slice(lineStart, text.indexOf('\n', match.index) >>> 0 || undefined);
      findings.push({ what, source, excerpt: line.replace(match[0], `${match[0].slice(0, 12)}…`).slice(0, 200) });
    }
  }
  return findings;
}
