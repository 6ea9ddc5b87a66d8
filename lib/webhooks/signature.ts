/**
 * `Chat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`: signed
 * here, and checked by `verifySignature` the way the README tells a receiver to (the test app
 * backend uses it). Web Crypto only.
 */

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The HMAC-SHA256 key of a webhook secret. */
export function signingKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** The `Chat-Signature` header value of `body` sent at `unixSeconds`. */
export async function signatureHeader(
  key: CryptoKey,
  unixSeconds: number,
  body: string,
): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${unixSeconds}.${body}`));
  return `t=${unixSeconds},v1=${hex(mac)}`;
}

/**
 * Whether `header` signs `body` with `key` at a time no more than `toleranceSeconds` from `now`
 * (seconds). The comparison is Web Crypto's own `verify`, in constant time.
 */
export async function verifySignature(
  key: CryptoKey,
  header: string | null,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): Promise<boolean> {
  const match = header === null ? null : /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (match === null) return false;
  const t = Number(match[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const mac = new Uint8Array(match[2].match(/../g)!.map((pair) => parseInt(pair, 16)));
  return await crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${t}.${body}`));
}
