import assert from "node:assert/strict";
import { lookalikeKeys, skeleton } from "../../lib/users/lookalike.ts";

function collide(a: string, b: string): boolean {
  const [x, y] = [lookalikeKeys(a), lookalikeKeys(b)];
  return x.skeleton === y.skeleton || x.folded === y.folded;
}

Deno.test("look-alike names collide: other scripts, case folding, Turkish i", () => {
  for (const name of ["Тоm", "Tоm", "Τom", "tom", "TOM", "ｔｏｍ".normalize("NFKC")]) {
    assert.ok(collide("Tom", name), `${name} looks like Tom`);
  }
  assert.ok(collide("Straße", "STRASSE"));
  assert.ok(collide("Straße", "strasse"));
  for (const [a, b] of [["TİM", "tım"], ["TİM", "tim"], ["tım", "tim"], ["TIM", "tım"]]) {
    assert.ok(collide(a, b), `${a} and ${b}`);
  }
  assert.ok(collide("rn", "m"), "UTS #39: rn looks like m");
  assert.ok(collide("paypal", "pаypаl"), "Cyrillic а");
});

Deno.test("different names do not collide", () => {
  for (const [a, b] of [["Tom", "Tim"], ["张三", "张四"], ["Jack", "Jake"], ["Anna", "Anne"]]) {
    assert.ok(!collide(a, b), `${a} and ${b}`);
  }
});

Deno.test("the skeleton follows UTS #39: NFD, prototypes, invisible characters dropped", () => {
  assert.equal(skeleton("ΑА"), "AA"); // Greek and Cyrillic capital A
  assert.equal(skeleton("a\u034Fb"), "ab"); // a combining grapheme joiner is invisible
  assert.equal(skeleton("0"), "O");
});
