/**
 * The page as a messenger, in real Chromium against a real service: the conversation list from
 * the server (unread badges, previews, online dots) kept live by the inbox socket, ticks on my
 * messages, "typing...", recall from a message's menu, search, my messages from another window;
 * and the whole story with a seed client beside it that sees exactly the seed's frames.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "npm:playwright-core@1.65.1";
import { ChatClient as ModuleClient } from "../../lib/client/chat_client.ts";
import {
  browserTest,
  desktopAndPhone,
  mine,
  newPage,
  openChat,
  screenshot,
  send,
  signUp,
  theirs,
  type Trouble,
} from "../support/browser.ts";
import {
  api,
  login,
  registerAndLogin,
  startTestServer,
  type TestServer,
} from "../support/server.ts";
import { ChatClient as SeedSocket } from "../support/ws_client.ts";

function item(page: Page, peer: string) {
  return page.locator(`#inbox-list .inbox-item[data-peer="${peer.toLowerCase()}"]`);
}

async function badge(page: Page, peer: string, count: number | null): Promise<void> {
  const badge = item(page, peer).locator(".unread-badge");
  if (count === null) await badge.waitFor({ state: "detached" });
  else await badge.getByText(String(count), { exact: true }).waitFor();
}

async function firstListed(page: Page): Promise<string | null> {
  return await page.locator("#inbox-list .inbox-item").first().getAttribute("data-peer");
}

async function recall(page: Page, text: string): Promise<void> {
  const row = mine(page, text).locator("xpath=ancestor::li");
  await row.locator(".msg-menu-button").click();
  await row.locator(".recall-button").click();
}

/** Every message text shown in the conversation, and the recalled notes. */
async function shown(page: Page): Promise<{ texts: string[]; recalled: number }> {
  return {
    texts: await page.locator(".msg .text").allTextContents(),
    recalled: await page.locator(".msg--recalled").count(),
  };
}

/** Tom in two windows of a desktop browser, Jack on a phone, each signed up; Alice registered. */
async function stage(browser: Browser, baseUrl: string, trouble: Trouble) {
  const { desktop, phone } = await desktopAndPhone(browser);
  const tomA = await newPage(desktop, trouble);
  const tomB = await newPage(desktop, trouble);
  const jack = await newPage(phone, trouble);
  await signUp(tomA, baseUrl, "Tom");
  // A second window starts as the user who logged in last.
  await tomB.goto(baseUrl + "/");
  await tomB.locator("#chat-view").waitFor();
  assert.equal(await tomB.textContent("#me-name"), "Tom");
  await signUp(jack, baseUrl, "Jack");
  return { tomA, tomB, jack };
}

/** Jack writes: both Tom windows show unread 1; Tom opens it in one, the other clears, Jack sees "read". */
async function unreadThenRead(tomA: Page, tomB: Page, jack: Page): Promise<void> {
  await openChat(jack, "Tom");
  await send(jack, "Tom，在吗？");
  await badge(tomA, "Jack", 1);
  await badge(tomB, "Jack", 1);
  assert.equal(await item(tomA, "Jack").locator(".preview").textContent(), "Tom，在吗？");
  await item(tomA, "Jack").locator("button").click();
  await theirs(tomA, "Tom，在吗？").waitFor();
  await badge(tomB, "Jack", null);
  const jackFirst = mine(jack, "Tom，在吗？").locator("xpath=ancestor::li");
  await jackFirst.and(jack.locator('[data-receipt="read"]')).waitFor();
  assert.equal(await jackFirst.locator(".state").textContent(), "已读");
}

/** Tom types and Jack sees "typing..."; what Tom sends in one window shows in the other. */
async function typingAndTwoWindows(tomA: Page, tomB: Page, jack: Page): Promise<void> {
  await tomA.locator("#composer-input").pressSequentially("在的");
  await jack.locator('#peer-status[data-presence="typing"]').getByText("正在输入…").waitFor();
  await item(tomB, "Jack").locator("button").click();
  await theirs(tomB, "Tom，在吗？").waitFor();
  await tomA.fill("#composer-input", "");
  await send(tomA, "你好 Jack，在吗?");
  await send(tomA, "这条发错了，撤回");
  await mine(tomB, "你好 Jack，在吗?").waitFor();
  await mine(tomB, "这条发错了，撤回").waitFor();
  await theirs(jack, "这条发错了，撤回").waitFor();
}

/** Tom recalls a message: it disappears in all three windows and from history. */
async function recallEverywhere(server: TestServer, pages: Page[]): Promise<void> {
  await recall(pages[0], "这条发错了，撤回");
  for (const page of pages) {
    await page.locator(".msg--recalled").waitFor();
    assert.deepEqual(await shown(page), {
      texts: ["Tom，在吗？", "你好 Jack，在吗?"],
      recalled: 1,
    });
  }
  const jackToken = await login(server, "Jack");
  const history = await api(server, "GET", "/v1/chat/Tom/messages", { token: jackToken });
  const items = history.json.body.messages as { msg: string; recalled?: boolean }[];
  assert.deepEqual(items.map((m) => [m.msg, m.recalled === true]), [
    ["", true],
    ["你好 Jack，在吗?", false],
    ["Tom，在吗？", false],
  ]);
}

/** Search finds a Chinese phrase. */
async function searchChinese(page: Page): Promise<void> {
  await page.click("#search-button");
  await page.fill("#search-input", "你好");
  await page.press("#search-input", "Enter");
  await page.locator("#search-results .search-hit").first().waitFor();
  assert.deepEqual(await page.locator("#search-results .text").allTextContents(), [
    "你好 Jack，在吗?",
  ]);
  await page.click("#search-close");
}

/** The seed client saw exactly the seed's frames: Tom's messages and presence, nothing new. */
function seedSawSeedFrames(seed: SeedSocket): void {
  const statuses = new Set(seed.frames.map((frame) => frame.status));
  for (const status of statuses) assert.ok([30001, 30098, 30099].includes(status), `${status}`);
  assert.deepEqual(
    seed.frames.filter((frame) => frame.status === 30001).map((frame) => frame.body.msg),
    ["你好 Jack，在吗?", "这条发错了，撤回"],
  );
  for (const raw of seed.raw) assert.match(raw, /^\{"status":\d+,"msg":"[^"]*","body":\{/);
}

browserTest(
  "Done when: Tom in two windows, Jack in one; unread, read, typing, recall, search, Alice, a seed client",
  async (browser) => {
    await using server = await startTestServer();
    const trouble: Trouble = { errors: [], dialogs: [] };
    const { tomA, tomB, jack } = await stage(browser, server.baseUrl, trouble);
    const aliceToken = await registerAndLogin(server, "Alice");
    // Jack's old phone, a seed client: no subprotocol, no ids, no receipts.
    await using seed = await SeedSocket.connect(server.wsUrl, "Tom", await login(server, "Jack"));

    await unreadThenRead(tomA, tomB, jack);
    await typingAndTwoWindows(tomA, tomB, jack);
    await recallEverywhere(server, [tomA, tomB, jack]);
    await searchChinese(tomA);

    // Alice, whom Tom never wrote to, writes: she is at the top of Tom's list, in both windows.
    await using alice = new ModuleClient({
      baseUrl: server.baseUrl,
      token: aliceToken,
      peer: "Tom",
      v2: true,
    });
    alice.connect();
    await alice.send("我是 Alice，周末有空吗？");
    for (const page of [tomA, tomB]) {
      await badge(page, "Alice", 1);
      assert.equal(await firstListed(page), "alice");
      await item(page, "Alice").locator('.online-dot[data-online="true"]').waitFor();
      await item(page, "Jack").locator('.online-dot[data-online="true"]').waitFor();
    }

    seedSawSeedFrames(seed);
    await screenshot(tomA, "messenger-desktop.png");
    await screenshot(jack, "messenger-phone.png");
    assert.deepEqual(trouble.dialogs, []);
    assert.deepEqual(trouble.errors, []);
  },
);

browserTest(
  "ticks in English: sent while Jack is away, delivered when he connects, read when he reads",
  async (browser) => {
    await using server = await startTestServer();
    const trouble: Trouble = { errors: [], dialogs: [] };
    const page = await newPage(await browser.newContext({ locale: "en-US" }), trouble);
    const jackToken = await registerAndLogin(server, "Jack");
    await signUp(page, server.baseUrl, "Tom");
    await openChat(page, "Jack");
    await send(page, "Are you there?");
    const row = mine(page, "Are you there?").locator("xpath=ancestor::li");
    assert.equal(await row.getAttribute("data-receipt"), "sent");
    assert.equal(await row.locator(".state").textContent(), "Sent");
    // Jack is offline: his dot in Tom's list is grey.
    await item(page, "Jack").locator('.online-dot[data-online="false"]').waitFor();

    await using jack = new ModuleClient({
      baseUrl: server.baseUrl,
      token: jackToken,
      peer: "Tom",
      v2: true,
    });
    const arrived = Promise.withResolvers<number>();
    jack.on("message", (message) => arrived.resolve(message.messageId));
    jack.connect();
    const messageId = await arrived.promise;
    await row.and(page.locator('[data-receipt="delivered"]')).waitFor();
    assert.equal(await row.locator(".state").textContent(), "Delivered");
    await item(page, "Jack").locator('.online-dot[data-online="true"]').waitFor();

    jack.read(messageId);
    await row.and(page.locator('[data-receipt="read"]')).waitFor();
    assert.equal(await row.locator(".state").textContent(), "Read");

    // Jack types in his program: Tom's page says so, in English.
    jack.typing(true);
    await page.locator('#peer-status[data-presence="typing"]').getByText("Typing…").waitFor();
    await jack.send("Yes, here.");
    await theirs(page, "Yes, here.").waitFor();
    await page.locator('#peer-status[data-presence="online"]').waitFor();
    assert.equal(await item(page, "Jack").locator(".preview").textContent(), "Yes, here.");
    assert.deepEqual(trouble.errors, []);
  },
);
