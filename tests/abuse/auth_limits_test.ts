import assert from "node:assert/strict";
import { api, startTestServer } from "../support/server.ts";
import { Accounts, type PasswordHasher } from "../../lib/auth/accounts.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { sqliteOptions } from "../support/backend_options.ts";

const from = (ip: string) => ({ "x-forwarded-for": ip });

Deno.test("login attempts per address are limited with 429, status 10007 and Retry-After", async () => {
  await using server = await startTestServer({
    env: { AUTH_MAX_PER_IP: "3", AUTH_MAX_PER_USER: "100", TRUST_PROXY: "true" },
  });
  for (let i = 0; i < 3; i++) {
    const response = await api(server, "POST", "/v1/user/token", {
      body: { username: `nobody${i}`, password: "password123" },
      headers: from("10.0.0.1"),
    });
    assert.equal(response.httpStatus, 401);
  }
  const limited = await api(server, "POST", "/v1/user/token", {
    body: { username: "nobody", password: "password123" },
    headers: from("10.0.0.1"),
  });
  assert.equal(limited.httpStatus, 429);
  assert.equal(limited.json.status, 10007);
  assert.equal(limited.json.msg, "Too many attempts, try again later");
  assert.ok((limited.json.body.retry_after_ms as number) > 0);
  assert.match(limited.headers.get("retry-after") ?? "", /^\d+$/);
  // Another address is not affected.
  const other = await api(server, "POST", "/v1/user/token", {
    body: { username: "nobody", password: "password123" },
    headers: from("10.0.0.2"),
  });
  assert.equal(other.httpStatus, 401);
});

Deno.test("registrations per address are limited too", async () => {
  await using server = await startTestServer({
    env: { AUTH_MAX_PER_IP: "2", TRUST_PROXY: "true" },
  });
  for (const name of ["a1", "a2"]) {
    const response = await api(server, "POST", "/v1/user", {
      body: { username: name, password: "password123" },
      headers: from("10.0.0.9"),
    });
    assert.equal(response.httpStatus, 201);
  }
  const limited = await api(server, "POST", "/v1/user", {
    body: { username: "a3", password: "password123" },
    headers: from("10.0.0.9"),
  });
  assert.equal(limited.httpStatus, 429);
  assert.equal(limited.json.status, 10007);
});

Deno.test("failed logins per username are limited from any address; a success resets them", async () => {
  await using server = await startTestServer({
    env: { AUTH_MAX_PER_USER: "2", TRUST_PROXY: "true" },
  });
  await api(server, "POST", "/v1/user", { body: { username: "Tom", password: "password123" } });
  for (const ip of ["10.1.0.1", "10.1.0.2"]) {
    const response = await api(server, "POST", "/v1/user/token", {
      body: { username: "tom", password: "wrong-password" },
      headers: from(ip),
    });
    assert.equal(response.httpStatus, 401);
  }
  // Even the right password waits: the name is under attack.
  const limited = await api(server, "POST", "/v1/user/token", {
    body: { username: "TOM", password: "password123" },
    headers: from("10.1.0.3"),
  });
  assert.equal(limited.httpStatus, 429);
  assert.equal(limited.json.status, 10007);
  // Other users are not affected.
  const other = await api(server, "POST", "/v1/user/token", {
    body: { username: "jack", password: "password123" },
    headers: from("10.1.0.3"),
  });
  assert.equal(other.httpStatus, 401);
});

Deno.test("a wrong name and a wrong password cost one password verification each", async () => {
  const repository = new SqliteRepository(":memory:", sqliteOptions());
  try {
    let verifications = 0;
    const counting: PasswordHasher = {
      hash: (password) => Promise.resolve(`plain:${password}`),
      verify: (password, stored) => {
        verifications++;
        return Promise.resolve(stored === `plain:${password}`);
      },
    };
    const accounts = new Accounts({
      repository,
      clock: Date.now,
      tokenTtlMs: 60_000,
      passwords: counting,
    });
    await accounts.register({ username: "Tom", password: "password123" });
    assert.equal(await accounts.login("Tom", "wrong-password"), null);
    assert.equal(verifications, 1);
    assert.equal(await accounts.login("Nobody", "wrong-password"), null);
    assert.equal(verifications, 2);
    assert.equal(await accounts.login("not a valid name!", "x"), null);
    assert.equal(verifications, 3);
    assert.notEqual(await accounts.login("tom", "password123"), null);
    assert.equal(verifications, 4);
  } finally {
    await repository.close();
  }
});

Deno.test("behind the README's nginx a client cannot choose its address by writing X-Forwarded-For", async () => {
  await using server = await startTestServer({
    env: { AUTH_MAX_PER_IP: "30", TRUST_PROXY: "true" },
  });
  const statuses: number[] = [];
  for (let n = 0; n < 60; n++) {
    // What nginx forwards: the client's own header, then the address nginx saw, appended.
    const response = await api(server, "POST", "/v1/user", {
      body: { username: `spoof${n}`, password: "password123" },
      headers: from(`203.0.113.${n}, 127.0.0.1, 198.51.100.20`),
    });
    statuses.push(response.httpStatus);
  }
  assert.equal(statuses.filter((status) => status === 201).length, 30);
  assert.equal(statuses.filter((status) => status === 429).length, 30);
});

Deno.test("an attack on a name from many addresses cannot lock out the owner's known device", async () => {
  await using server = await startTestServer({
    env: { AUTH_MAX_PER_USER: "10", AUTH_MAX_PER_IP: "1000", TRUST_PROXY: "true" },
  });
  await api(server, "POST", "/v1/user", { body: { username: "Tom", password: "password123" } });
  // The owner logged in before from this browser and kept the device token.
  const first = await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "password123" },
    headers: from("198.51.100.1"),
  });
  assert.equal(first.httpStatus, 201);
  const device = first.json.body.device as string;
  assert.match(device, /^[\w-]+\.[\w-]+$/);

  // The attacker guesses from 40 addresses, forever: after 10 failures it only gets 429.
  const attack: number[] = [];
  for (let n = 0; n < 40; n++) {
    const guess = await api(server, "POST", "/v1/user/token", {
      body: { username: "tom", password: `guess-${n}-wrong`, device: "forged.device" },
      headers: from(`203.0.113.${n}`),
    });
    attack.push(guess.httpStatus);
  }
  assert.deepEqual(attack.slice(0, 10), Array(10).fill(401));
  assert.deepEqual(attack.slice(10), Array(30).fill(429));
  // Even the right password from an unknown device waits (the name is under attack) ...
  const unknown = await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "password123" },
    headers: from("203.0.113.200"),
  });
  assert.equal(unknown.httpStatus, 429);
  // ... but the owner's known device gets in, during the attack, from any address.
  const owner = await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "password123", device },
    headers: from("192.0.2.77"),
  });
  assert.equal(owner.httpStatus, 201);
  assert.equal(owner.json.body.device, device);
  // A stolen device token does not make guessing unlimited: it has its own count.
  const withDevice: number[] = [];
  for (let n = 0; n < 12; n++) {
    const guess = await api(server, "POST", "/v1/user/token", {
      body: { username: "Tom", password: `stolen-${n}-wrong`, device },
      headers: from(`203.0.113.${100 + n}`),
    });
    withDevice.push(guess.httpStatus);
  }
  assert.deepEqual(withDevice.slice(0, 10), Array(10).fill(401));
  assert.deepEqual(withDevice.slice(10), [429, 429]);
});
