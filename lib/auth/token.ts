/** Login tokens: random UUID v4 strings given to the client, stored only as SHA-256 hashes. */
import { createHash } from "node:crypto";

/** A new random token, a UUID v4 like the seed's example. */
export function newToken(): string {
  return crypto.randomUUID();
}

/** The hex SHA-256 of a token: what the repository stores and looks up. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
