/** Password hashing with scrypt: format, salts, verification and NFKC. */
import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "../../lib/auth/password.ts";

const B64 = "[A-Za-z0-9+/]+={0,2}";
const FORMAT = new RegExp(`^scrypt\\$16384\\$8\\$1\\$(${B64})\\$(${B64})$`);

Deno.test("a hash is scrypt$N$r$p$salt$key with a 16-byte salt and a 32-byte key", async () => {
  const hash = await hashPassword("password123");
  const match = FORMAT.exec(hash);
  assert.ok(match, hash);
  assert.equal(atob(match[1]).length, 16);
  assert.equal(atob(match[2]).length, 32);
  assert.ok(!hash.includes("password123"));
});

Deno.test("each hash of the same password has its own salt", async () => {
  const [a, b] = await Promise.all([hashPassword("password123"), hashPassword("password123")]);
  assert.notEqual(a.split("$")[4], b.split("$")[4]);
  assert.notEqual(a, b);
  assert.ok(await verifyPassword("password123", a));
  assert.ok(await verifyPassword("password123", b));
});

Deno.test("a password verifies against its own hash and no other password does", async () => {
  const hash = await hashPassword("correct horse battery");
  assert.equal(await verifyPassword("correct horse battery", hash), true);
  for (const wrong of ["correct horse batterY", "correct horse battery ", "", "password123"]) {
    assert.equal(await verifyPassword(wrong, hash), false, wrong);
  }
});

Deno.test("a malformed stored hash never matches", async () => {
  const good = await hashPassword("password123");
  const [, N, r, p, salt, key] = good.split("$");
  const malformed = [
    "",
    "password123",
    "$2b$10$abcdefghijklmnopqrstuu5H0i1BvRYCnA2E1tjpsRA1GRtHtCe1.",
    `bcrypt$${N}$${r}$${p}$${salt}$${key}`,
    `scrypt$${N}$${r}$${p}$${salt}`,
    `scrypt$${N}$${r}$${p}$${salt}$${key}$extra`,
    `scrypt$abc$${r}$${p}$${salt}$${key}`,
    `scrypt$${N}$${r}$${p}$${salt}$${btoa("too short")}`,
    `scrypt$${1 << 21}$${r}$${p}$${salt}$${key}`,
    `scrypt$${N}$64$${p}$${salt}$${key}`,
    `scrypt$${N}$${r}$${p}$${salt}$`,
  ];
  for (const stored of malformed) {
    assert.equal(await verifyPassword("password123", stored), false, stored);
  }
  assert.equal(await verifyPassword("password123", good), true);
});

Deno.test("NFKC-equivalent spellings of a password match", async () => {
  const fullwidth = await hashPassword("ｐａｓｓｗｏｒｄ１２３");
  assert.ok(await verifyPassword("password123", fullwidth));
  const composed = await hashPassword("caf\u00e9-password");
  assert.ok(await verifyPassword("cafe\u0301-password", composed));
  assert.equal(await verifyPassword("cafe-password", composed), false);
});
