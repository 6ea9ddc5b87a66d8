/**
 * The chat page in real Chromium (tests/support/browser.ts): two people sign up, chat both ways,
 * see presence, get what was sent while they were away, and see markup shown as text.
 * Screenshots go to test-output/.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { Page, WebSocketRoute } from "npm:playwright-core@1.65.1";
import { api, registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient } from "../../lib/client/chat_client.ts";
import { PAGE_TEXT } from "../../lib/web/page/i18n.ts";
import {
  browserTest,
  desktopAndPhone,
  holdSocket,
  logIn,
  mine,
  newPage,
  openChat,
  presence,
  recordTexts,
  screenshot,
  send,
  signUp,
  theirs,
  transcript,
  type Trouble,
} from "../support/browser.ts";

const INJECTION = "<img src=x onerror=alert(1)>";

/** Markup is shown as the characters typed, never run; Shift+Enter adds a line, Enter sends. */
async function markupAndLines(tom: Page, ming: Page): Promise<void> {
  await send(tom, INJECTION);
  await theirs(ming, INJECTION).waitFor();
  assert.equal(await theirs(ming, INJECTION).textContent(), INJECTION);
  assert.equal(await ming.locator("#message-list img").count(), 0);
  assert.equal(await tom.locator("#message-list img").count(), 0);

  await ming.fill("#composer-input", "第一行");
  await ming.press("#composer-input", "Shift+Enter");
  await ming.type("#composer-input", "第二行");
  assert.equal(await ming.inputValue("#composer-input"), "第一行\n第二行");
  await ming.press("#composer-input", "Enter");
  await theirs(tom, "第一行\n第二行").waitFor();
  assert.equal(await ming.inputValue("#composer-input"), "");
}

browserTest(
  "two people chat in Chromium: both ways, presence, away messages, text only",
  async (browser) => {
    await using server = await startTestServer();
    const trouble: Trouble = { errors: [], dialogs: [] };
    // Tom on a desktop, 小明 on a phone-sized screen.
    const { desktop, phone } = await desktopAndPhone(browser);
    const tom = await newPage(desktop, trouble);
    let ming = await newPage(phone, trouble);
    await signUp(tom, server.baseUrl, "Tom");
    await signUp(ming, server.baseUrl, "小明");

    await openChat(tom, "小明");
    await presence(tom, "offline");
    await openChat(ming, "tom");
    await presence(tom, "online");
    await presence(ming, "online");
    assert.equal(await ming.textContent("#peer-name"), "tom");

    await send(tom, "你好，小明！今天下午三点开会，别忘了带上周的报告。");
    await theirs(ming, "你好，小明！今天下午三点开会，别忘了带上周的报告。").waitFor();
    // The page learns the peer's registered spelling from the conversation.
    assert.equal(await ming.textContent("#peer-name"), "Tom");
    await send(ming, "收到，我会准时到。");
    await theirs(tom, "收到，我会准时到。").waitFor();

    await markupAndLines(tom, ming);

    // 小明 closes the tab: Tom sees 小明 go offline, and writes anyway.
    await ming.close();
    await presence(tom, "offline");
    await send(tom, "你不在的时候我发了这条消息。");

    // 小明 comes back: the message is there, once, and Tom sees 小明 online again.
    ming = await newPage(phone, trouble);
    await ming.goto(server.baseUrl + "/#/chat/Tom");
    await theirs(ming, "你不在的时候我发了这条消息。").waitFor();
    await presence(tom, "online");
    await send(tom, "欢迎回来");
    await theirs(ming, "欢迎回来").waitFor();
    const texts = [
      "你好，小明！今天下午三点开会，别忘了带上周的报告。",
      "收到，我会准时到。",
      INJECTION,
      "第一行\n第二行",
      "你不在的时候我发了这条消息。",
      "欢迎回来",
    ];
    const tomWrote = [true, false, true, false, true, true];
    assert.deepEqual(
      await transcript(ming),
      texts.map((t, i) => `${tomWrote[i] ? "<" : ">"} ${t}`),
    );
    assert.deepEqual(await transcript(tom), texts.map((t, i) => `${tomWrote[i] ? ">" : "<"} ${t}`));
    await send(ming, "谢谢！");
    await theirs(tom, "谢谢！").waitFor();

    await screenshot(tom, "chat-desktop.png");
    await screenshot(ming, "chat-phone.png");
    assert.deepEqual(trouble.dialogs, []);
    assert.deepEqual(trouble.errors, []);
  },
);

browserTest(
  "errors read as sentences: an unknown peer, a wrong password, a revoked login",
  async (browser) => {
    await using server = await startTestServer();
    const trouble: Trouble = { errors: [], dialogs: [] };
    const context = await browser.newContext({ locale: "zh-CN" });
    const page = await newPage(context, trouble);
    await signUp(page, server.baseUrl, "Tom");

    await page.fill("#peer-input", "Tony");
    await page.press("#peer-input", "Enter");
    await page.locator("#banner").waitFor();
    assert.equal(await page.textContent("#banner-text"), "用户“Tony”不存在，请检查用户名。");
    assert.equal(await page.isDisabled("#composer-input"), true);

    // Logging out elsewhere (the same token revoked) brings the login back with a notice.
    const token = await page.evaluate(() =>
      JSON.parse(localStorage.getItem("chat.logins")!).tom.token
    );
    await api(server, "POST", "/v1/user", { body: { username: "Jack", password: "password123" } });
    await page.fill("#peer-input", "Jack");
    await page.press("#peer-input", "Enter");
    await page.locator('#connection[data-state="open"]').waitFor();
    assert.equal((await api(server, "DELETE", "/v1/user/token", { token })).httpStatus, 200);
    await page.locator("#auth-view").waitFor();
    assert.equal(await page.textContent("#auth-notice"), "登录已失效，请重新登录。");
    assert.equal(await page.evaluate(() => localStorage.getItem("chat.logins")), "{}");

    await page.fill("#auth-username", "Tom");
    await page.fill("#auth-password", "wrong-password");
    await page.click("#auth-submit");
    await page.locator("#auth-error").waitFor();
    assert.equal(await page.textContent("#auth-error"), "用户名或密码错误。");
    assert.deepEqual(trouble.dialogs, []);
    // Chromium itself logs the API's 404 (unknown peer) and 401 (wrong password); nothing else.
    for (const error of trouble.errors) assert.match(error, /status of (404|401)\b/);
  },
);

browserTest(
  "scrolling up loads older pages of history, in order, each message once",
  async (browser) => {
    await using server = await startTestServer();
    await registerAndLogin(server, "Tom");
    await registerAndLogin(server, "Jack");
    const tom = (await server.repository.findUser("tom"))!;
    const jack = (await server.repository.findUser("jack"))!;
    const texts = Array.from({ length: 120 }, (_, i) => `第 ${i + 1} 条消息`);
    for (const [i, msg] of texts.entries()) {
      const [from, to] = i % 3 === 0 ? [jack, tom] : [tom, jack];
      const sendTime = `2026-11-${String(20 + Math.floor(i / 40)).padStart(2, "0")} 09:${
        String(i % 60).padStart(2, "0")
      }:00`;
      await server.repository.saveMessages([{
        from,
        to,
        msg,
        sendTime,
        sentAt: 0,
        clientId: null,
      }]);
    }
    const trouble: Trouble = { errors: [], dialogs: [] };
    const page = await newPage(await browser.newContext({ locale: "zh-CN" }), trouble);
    await logIn(page, server.baseUrl, "Tom");
    await openChat(page, "Jack");
    await page.getByText("第 120 条消息", { exact: true }).waitFor();
    assert.equal(await page.locator(".msg").count(), 50);
    for (let shown = 50; shown < 120; shown = await page.locator(".msg").count()) {
      await page.$eval("#messages", (scroller) => scroller.scrollTop = 0);
      await page.locator(".msg").nth(shown).waitFor({ state: "attached" });
    }
    await page.locator("#history-status").getByText("没有更早的消息了").waitFor();
    const expected = texts.map((text, i) => `${i % 3 === 0 ? "<" : ">"} ${text}`);
    assert.deepEqual(await transcript(page), expected);
    // One date line per day, before that day's first message.
    assert.deepEqual(await page.locator(".day").allTextContents(), [
      "2026-11-20",
      "2026-11-21",
      "2026-11-22",
    ]);
    assert.deepEqual(trouble.errors, []);
  },
);

browserTest(
  "the page rides out a service restart: it shows the drop, reconnects and sends what waited",
  async (browser) => {
    const dir = await Deno.makeTempDir({ prefix: "chat-browser-test-" });
    try {
      const dbPath = `${dir}/chat.db`;
      await using first = await startTestServer({ dbPath });
      await registerAndLogin(first, "Tom");
      const jack = await registerAndLogin(first, "Jack");
      const trouble: Trouble = { errors: [], dialogs: [] };
      const page = await newPage(await browser.newContext({ locale: "zh-CN" }), trouble);
      await logIn(page, first.baseUrl, "Tom");
      await openChat(page, "Jack");
      await first.close();
      await page.locator('#connection[data-state="retrying"]').waitFor();
      assert.match((await page.textContent("#connection-text"))!, /连接已断开/);
      await page.fill("#composer-input", "服务器重启时写的消息");
      await page.press("#composer-input", "Enter");
      await page.locator('.msg--mine[data-state="sending"]').waitFor();
      await using second = await startTestServer({ dbPath, env: { PORT: String(first.port) } });
      await page.locator('#connection[data-state="open"]').waitFor({ timeout: 20_000 });
      await page.locator('.msg--mine[data-state="stored"]').waitFor();
      const history = await api(second, "GET", "/v1/chat/Tom/messages", { token: jack });
      assert.deepEqual(
        (history.json.body.messages as { msg: string }[]).map((m) => m.msg),
        ["服务器重启时写的消息"],
      );
      // While the service was down Chromium logged the refused sockets; nothing else went wrong.
      for (const error of trouble.errors) assert.match(error, /WebSocket/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

browserTest(
  "two windows of one browser are two users: each keeps its own login and they chat",
  async (browser) => {
    await using server = await startTestServer();
    const trouble: Trouble = { errors: [], dialogs: [] };
    const context = await browser.newContext({ locale: "zh-CN" });
    // Both windows are opened first, as a new user would; then each signs up.
    const first = await newPage(context, trouble);
    const second = await newPage(context, trouble);
    await first.goto(server.baseUrl + "/");
    await second.goto(server.baseUrl + "/");
    await signUp(first, server.baseUrl, "Tom");
    await signUp(second, server.baseUrl, "Jack");
    assert.equal(await first.textContent("#me-name"), "Tom");
    await openChat(first, "Jack");
    await openChat(second, "Tom");
    await presence(first, "online");
    await send(first, "同一个浏览器的两个窗口");
    await theirs(second, "同一个浏览器的两个窗口").waitFor();
    await send(second, "各是各的用户");
    await theirs(first, "各是各的用户").waitFor();
    // A reload keeps each window's user.
    await first.reload();
    await theirs(first, "各是各的用户").waitFor();
    assert.equal(await first.textContent("#me-name"), "Tom");
    // Switching user leaves the login for others: Jack's window goes to the form, Tom stays.
    await second.click("#switch-button");
    await second.locator("#auth-view").waitFor();
    await presence(first, "offline");
    assert.equal(await first.textContent("#me-name"), "Tom");
    // A new window starts as the user who logged in last.
    const third = await newPage(context, trouble);
    await third.goto(server.baseUrl + "/");
    await third.locator("#chat-view").waitFor();
    assert.equal(await third.textContent("#me-name"), "Jack");
    assert.deepEqual(trouble.errors, []);
  },
);

browserTest(
  "limits on the socket read as words: too many windows (30006), too slow (1013), nothing lost",
  async (browser) => {
    await using server = await startTestServer({
      env: { MAX_CONNECTIONS_PER_USER: "1", MAX_UNACKED: "2" },
    });
    const tomToken = await registerAndLogin(server, "Tom");
    const jackToken = await registerAndLogin(server, "Jack");
    const trouble: Trouble = { errors: [], dialogs: [] };
    const page = await newPage(await browser.newContext({ locale: "zh-CN" }), trouble);
    // Every chat socket of the page goes through here to the real service; the receipts of the
    // socket named by `withhold` are lost on the way.
    const routes: WebSocketRoute[] = [];
    let withhold: WebSocketRoute | null = null;
    await page.routeWebSocket(/\/v1\/chat\//, (ws) => {
      routes.push(ws);
      const service = ws.connectToServer();
      ws.onMessage((message) => {
        if (ws === withhold && String(message).startsWith('{"ack"')) return;
        service.send(message);
      });
    });

    // Tom's one socket is taken, say by a tab elsewhere: the page says so and keeps trying.
    const elsewhere = await holdSocket(`${server.wsUrl}/v1/chat/Jack?token=${tomToken}`);
    await logIn(page, server.baseUrl, "Tom");
    await page.fill("#peer-input", "Jack");
    await page.press("#peer-input", "Enter");
    await page.locator("#banner").waitFor();
    assert.equal(
      await page.textContent("#banner-text"),
      "这个账号打开的聊天窗口太多了（最多 1 个）。关掉其他标签页或设备上的聊天，这里会自动连上。",
    );
    const closed = Promise.withResolvers<void>();
    elsewhere.onclose = () => closed.resolve();
    elsewhere.close();
    await closed.promise;
    // The slot is free: the page gets in by itself, the sentence goes, the message is stored.
    await send(page, "终于连上了");
    assert.equal(await page.isHidden("#banner"), true);

    // Jack writes while the page's receipts get lost: the service's window (2) fills up and it
    // closes the socket with 1013. The page says the connection is paused, reconnects, and
    // shows every message once.
    const seen = await recordTexts(page);
    withhold = routes.at(-1)!;
    await using jack = new ChatClient({ baseUrl: server.baseUrl, token: jackToken, peer: "Tom" });
    jack.connect();
    for (const text of ["一", "二", "三"]) await jack.send(text);
    await theirs(page, "三").waitFor();
    await page.locator('#connection[data-state="open"]').waitFor();
    assert.deepEqual(await transcript(page), ["> 终于连上了", "< 一", "< 二", "< 三"]);
    const texts = await seen();
    assert.ok(texts.includes("连接暂停，正在重连…"), texts.join(" | "));
    assert.ok(texts.includes(`title: ${PAGE_TEXT.zh.laterExplained}`), texts.join(" | "));
    assert.deepEqual(trouble.dialogs, []);
    // Playwright's route throws this in the page when it forwards a frame the service sent just
    // before its 1013 to a page side already closed (a v2 socket gets more frames: 30016); it is
    // the route's, not the page's. Anything else is the page's.
    const harness = "WebSocket is already in CLOSING or CLOSED state.";
    assert.deepEqual(trouble.errors.filter((error) => error !== harness), []);
  },
);

browserTest(
  "limits on requests read as words: too many attempts (429), a busy service (503), too fast (30005)",
  async (browser) => {
    await using server = await startTestServer({
      env: {
        AUTH_MAX_PER_USER: "2",
        SQLITE_BUSY_TIMEOUT: "100ms",
        MSG_RATE: "1",
        MSG_BURST: "1",
      },
    });
    await registerAndLogin(server, "Tom");
    const jackToken = await registerAndLogin(server, "Jack");
    const trouble: Trouble = { errors: [], dialogs: [] };
    const page = await newPage(await browser.newContext({ locale: "zh-CN" }), trouble);
    await page.goto(server.baseUrl + "/");

    // Someone guesses Jack's password: after two failures the name is locked for a while.
    const attempt = async (name: string, password: string) => {
      await page.fill("#auth-username", name);
      await page.fill("#auth-password", password);
      await page.click("#auth-submit");
      await page.locator("#auth-error").waitFor();
      return await page.textContent("#auth-error");
    };
    assert.equal(await attempt("Jack", "wrong-password"), "用户名或密码错误。");
    assert.equal(await attempt("Jack", "wrong-password"), "用户名或密码错误。");
    assert.match((await attempt("Jack", "password123"))!, /^尝试次数太多，请 \d+ 秒后再试。$/);

    // The database is locked by another program: a login cannot be written.
    const lock = new DatabaseSync(server.dbPath);
    try {
      lock.exec("BEGIN EXCLUSIVE");
      assert.equal(await attempt("Tom", "password123"), "服务器正忙，请 1 秒后再试。");
    } finally {
      if (lock.isTransaction) lock.exec("ROLLBACK");
      lock.close();
    }
    await logIn(page, server.baseUrl, "Tom");
    await openChat(page, "Jack");

    // One message a second: the second one waits, says why, and goes by itself, in order.
    const seen = await recordTexts(page);
    await page.fill("#composer-input", "第一条");
    await page.press("#composer-input", "Enter");
    await page.fill("#composer-input", "第二条");
    await page.press("#composer-input", "Enter");
    await mine(page, "第二条").locator('xpath=ancestor::li[@data-state="stored"]').waitFor();
    await mine(page, "第一条").locator('xpath=ancestor::li[@data-state="stored"]').waitFor();
    assert.ok((await seen()).includes("发送太快，稍后自动重发"), (await seen()).join(" | "));
    assert.deepEqual(await transcript(page), ["> 第一条", "> 第二条"]);
    const history = await api(server, "GET", "/v1/chat/Tom/messages", { token: jackToken });
    assert.deepEqual(
      (history.json.body.messages as { msg: string }[]).map((m) => m.msg),
      ["第二条", "第一条"],
    );
    assert.deepEqual(trouble.dialogs, []);
    // Chromium itself logs the API's 401, 429 and 503 answers; nothing else.
    for (const error of trouble.errors) assert.match(error, /status of (401|429|503)\b/);
  },
);
