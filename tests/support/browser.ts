/**
 * Driving the chat page in real Chromium (Debian's /usr/bin/chromium, by playwright-core), for
 * the browser tests: a browser per test, pages that record what went wrong in them, and the
 * steps a person takes (sign up, log in, open a chat, send) with what they see.
 *
 * Without /usr/bin/chromium (or CHROMIUM_PATH) the tests are skipped with a note, unless
 * REQUIRE_BROWSER=1 (as in CI), where they fail instead.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.1";

/** Debian's Chromium; CHROMIUM_PATH points elsewhere (e.g. to check the skip). */
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const REQUIRED = Deno.env.get("REQUIRE_BROWSER") === "1";
const AVAILABLE = existsSync(CHROMIUM);
export const OUTPUT = new URL("../../test-output/", import.meta.url);
/** How long a step waits for the page before failing. */
export const STEP_MS = 10_000;

if (!AVAILABLE && !REQUIRED) {
  console.log(
    `note: ${CHROMIUM} is missing, so the browser tests are skipped ` +
      "(apt-get install chromium; REQUIRE_BROWSER=1 makes them fail instead)",
  );
}

/** A browser test: skipped without Chromium unless REQUIRE_BROWSER=1; the browser is closed after. */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>) {
  Deno.test({
    name,
    ignore: !AVAILABLE && !REQUIRED,
    async fn() {
      if (!AVAILABLE) {
        throw new Error(`REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install chromium`);
      }
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        // Without the networking switches Chromium stalls on start-up here.
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-sync",
          "--disable-component-update",
        ],
      });
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

/** A desktop-sized and a phone-sized browser context, both in Chinese. */
export async function desktopAndPhone(browser: Browser) {
  const desktop = await browser.newContext({
    viewport: { width: 1100, height: 720 },
    locale: "zh-CN",
  });
  const phone = await browser.newContext({
    viewport: { width: 390, height: 760 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
  });
  return { desktop, phone };
}

/** What went wrong inside a page: console errors (CSP and Trusted Types violations among them), uncaught exceptions, dialogs. */
export interface Trouble {
  readonly errors: string[];
  readonly dialogs: string[];
}

export async function newPage(context: BrowserContext, trouble: Trouble): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (message) => {
    if (message.type() === "error") trouble.errors.push(message.text());
  });
  page.on("pageerror", (error) => trouble.errors.push(error.message));
  page.on("dialog", (dialog) => {
    trouble.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return page;
}

export async function signUp(page: Page, baseUrl: string, name: string): Promise<void> {
  await page.goto(baseUrl + "/");
  await page.click("#tab-register");
  await page.fill("#auth-username", name);
  await page.fill("#auth-password", "password123");
  await page.click("#auth-submit");
  await page.locator("#chat-view").waitFor();
  assert.equal(await page.textContent("#me-name"), name);
}

export async function openChat(page: Page, peer: string): Promise<void> {
  await page.fill("#peer-input", peer);
  await page.press("#peer-input", "Enter");
  await page.locator("#conversation").waitFor();
  await page.locator('#connection[data-state="open"]').waitFor();
}

/** Types `text` and presses Enter; waits until the service has stored it. */
export async function send(page: Page, text: string): Promise<void> {
  await page.fill("#composer-input", text);
  await page.press("#composer-input", "Enter");
  await mine(page, text).locator('xpath=ancestor::li[@data-state="stored"]').waitFor();
}

export function mine(page: Page, text: string) {
  return page.locator(".msg--mine .text").getByText(text, { exact: true });
}

export function theirs(page: Page, text: string) {
  return page.locator(".msg--theirs .text").getByText(text, { exact: true });
}

/** The texts of the conversation, top to bottom, with `>` for mine and `<` for the peer's. */
export function transcript(page: Page): Promise<string[]> {
  return page.$$eval(
    ".msg",
    (items) =>
      items.map((item) =>
        `${item.classList.contains("msg--mine") ? ">" : "<"} ${
          item.querySelector(".text")?.textContent
        }`
      ),
  );
}

export async function presence(page: Page, state: "online" | "offline"): Promise<void> {
  await page.locator(`#peer-status[data-presence="${state}"]`).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: new URL(name, OUTPUT).pathname });
}

export async function logIn(page: Page, baseUrl: string, name: string): Promise<void> {
  await page.goto(baseUrl + "/");
  await page.fill("#auth-username", name);
  await page.fill("#auth-password", "password123");
  await page.click("#auth-submit");
  await page.locator("#chat-view").waitFor();
}

/**
 * Records every text the connection badge (and its title) and the messages' states show from now
 * on, so a test can check a text that is on screen for a moment only; returns a reader.
 */
export async function recordTexts(page: Page): Promise<() => Promise<string[]>> {
  await page.$eval("#conversation", (root) => {
    const seen = new Set<string>();
    (globalThis as unknown as { seenTexts: Set<string> }).seenTexts = seen;
    const record = () => {
      seen.add(root.querySelector("#connection-text")?.textContent ?? "");
      seen.add(`title: ${root.querySelector("#connection")?.getAttribute("title") ?? ""}`);
      for (const state of root.querySelectorAll(".msg .state")) seen.add(state.textContent ?? "");
    };
    // The page's own MutationObserver (Deno's type library has none).
    const { MutationObserver } = globalThis as unknown as {
      MutationObserver: new (callback: () => void) => {
        observe(target: unknown, options: Record<string, boolean>): void;
      };
    };
    new MutationObserver(record).observe(root, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
  return () =>
    page.evaluate(() => [...(globalThis as unknown as { seenTexts: Set<string> }).seenTexts]);
}

/** Opens a plain chat socket and waits until it is open. */
export async function holdSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  const open = Promise.withResolvers<void>();
  socket.onopen = () => open.resolve();
  socket.onerror = () => open.reject(new Error(`could not open ${url}`));
  await open.promise;
  return socket;
}
