/**
 * The chat page's files: served from memory with their content type, an ETag, caching suited to
 * each (the page is revalidated, hashed files are cached for a year) and a strict
 * Content-Security-Policy that allows only the service's own script, styles, images and sockets.
 */

/** One embedded file, as `tools/build_web.ts` writes it into `lib/web/assets.ts`. */
export interface StaticAsset {
  /** The URL path, e.g. `/` or `/assets/app.0123456789abcdef.js`. */
  readonly path: string;
  /** The Content-Type. */
  readonly type: string;
  /** A hash of the body, sent as a strong ETag. */
  readonly etag: string;
  /** True when the path holds the content hash, so the file never changes under it. */
  readonly immutable: boolean;
  readonly body: string;
}

/**
 * No inline script or style, no eval, nothing from elsewhere; `connect-src 'self'` also covers
 * `ws:`/`wss:` to the same host (CSP Level 3). Trusted Types make any HTML string sink (such
 * as `innerHTML`) throw, so user text can only ever be set as text.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Headers every static response carries. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

/** Cache-Control of hashed files: a year, never revalidated. */
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";
/** Cache-Control of the page itself: kept, but revalidated (ETag) before each use. */
export const REVALIDATE_CACHE = "no-cache";

/** Whether an If-None-Match header names `etag` (weak or strong, or `*`). */
export function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === `"${etag}"`;
  });
}

interface Prepared {
  readonly asset: StaticAsset;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** The embedded files by path. */
export class StaticFiles {
  readonly #byPath = new Map<string, Prepared>();

  constructor(assets: readonly StaticAsset[]) {
    const encoder = new TextEncoder();
    for (const asset of assets) {
      this.#byPath.set(asset.path, { asset, bytes: encoder.encode(asset.body) });
    }
  }

  /** Whether a file is served at `path`. */
  has(path: string): boolean {
    return this.#byPath.has(path);
  }

  /** The paths served, the page first. */
  get paths(): string[] {
    return [...this.#byPath.keys()];
  }

  /** The response for `path` (which must exist): 200, or 304 when the client's copy is current. */
  serve(request: Request, path: string): Response {
    const prepared = this.#byPath.get(path);
    if (prepared === undefined) throw new RangeError(`No static file at "${path}"`);
    const { asset, bytes } = prepared;
    const headers = new Headers(SECURITY_HEADERS);
    headers.set("cache-control", asset.immutable ? IMMUTABLE_CACHE : REVALIDATE_CACHE);
    headers.set("etag", `"${asset.etag}"`);
    if (matchesEtag(request.headers.get("if-none-match"), asset.etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-type", asset.type);
    return new Response(bytes, { status: 200, headers });
  }
}
