/// <reference lib="dom" />
/**
 * The chat page's entry point: log in or register, pick a peer, and chat. The chat logic is the
 * client module's (`lib/client/`); this file draws views and routes between them. The address
 * `#/chat/<peer>` opens a conversation, so reloads, the back button and links keep their place.
 */
import { ApiError, ChatApi, RetryLaterError } from "../../client/chat_api.ts";
import { API_STATUS } from "../../protocol/status.ts";
import { checkUsername, usernameKey } from "../../users/username.ts";
import { countCodePoints } from "../../protocol/text.ts";
import { Conversation } from "./conversation.ts";
import { avatar, byId, el, show } from "./dom.ts";
import { type MessageKey, pickLanguage, translator, waitSeconds } from "./i18n.ts";
import { type SavedLogin, SavedState } from "./saved_state.ts";

const language = pickLanguage(navigator.languages);
const t = translator(language);
const saved = new SavedState(localStorage, sessionStorage);
const api = new ChatApi({ baseUrl: location.origin });

let mode: "login" | "register" = "login";
let conversation: Conversation | null = null;
let current: SavedLogin | null = null;

/** Fills every `data-i18n*` attribute of the page with the chosen language's words. */
function translatePage(): void {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n as MessageKey);
  }
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n-placeholder]")) {
    node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder as MessageKey));
  }
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel as MessageKey));
    node.title = t(node.dataset.i18nLabel as MessageKey);
  }
}

// --- the login / register view ---

function setMode(next: "login" | "register"): void {
  mode = next;
  for (const [id, tabMode] of [["tab-login", "login"], ["tab-register", "register"]] as const) {
    const tab = byId(id);
    tab.setAttribute("aria-selected", String(tabMode === mode));
    tab.classList.toggle("active", tabMode === mode);
  }
  byId("auth-submit").textContent = t(mode === "login" ? "loginButton" : "registerButton");
  byId<HTMLInputElement>("auth-password").autocomplete = mode === "login"
    ? "current-password"
    : "new-password";
  show(byId("username-hint"), mode === "register");
  show(byId("password-hint"), mode === "register");
  clearAuthErrors();
}

function clearAuthErrors(): void {
  for (const id of ["username-error", "password-error", "auth-error"]) {
    byId(id).textContent = "";
    show(byId(id), false);
  }
}

function authError(id: "username-error" | "password-error" | "auth-error", text: string): void {
  byId(id).textContent = text;
  show(byId(id), true);
}

/** Checks the form as the service would, so that most mistakes need no round trip. */
function checkAuthForm(username: string, password: string): boolean {
  let ok = true;
  if (username.trim() === "") {
    authError("username-error", t("errRequired"));
    ok = false;
  } else if (mode === "register") {
    const check = checkUsername(username);
    if (!check.ok) {
      authError(
        "username-error",
        t(/characters$/.test(check.reason) ? "errUsernameLength" : "errUsernameChars"),
      );
      ok = false;
    }
  }
  if (password === "") {
    authError("password-error", t("errRequired"));
    ok = false;
  } else if (mode === "register") {
    const length = countCodePoints(password);
    if (length < 8 || length > 128) {
      authError("password-error", t("errPasswordLength"));
      ok = false;
    }
  }
  return ok;
}

function explainAuthFailure(error: unknown): void {
  if (error instanceof RetryLaterError) {
    // 429: too many attempts from here or at this name; 503: the service is busy.
    const seconds = waitSeconds(error.retryAfterMs);
    authError(
      "auth-error",
      t(error.httpStatus === 429 ? "errTooManyAttempts" : "errBusy", { seconds }),
    );
  } else if (!(error instanceof ApiError)) authError("auth-error", t("errNetwork"));
  else if (error.status === API_STATUS.LOGIN_FAILED) authError("auth-error", t("errLogin"));
  else if (error.status === API_STATUS.USERNAME_TAKEN) authError("username-error", t("errTaken"));
  else if (error.status === API_STATUS.INVALID_INPUT && error.field === "username") {
    authError("username-error", t("errUsernameChars"));
  } else if (error.status === API_STATUS.INVALID_INPUT && error.field === "password") {
    authError("password-error", t("errPasswordLength"));
  } else authError("auth-error", error.status === 0 ? t("errNetwork") : t("errServer"));
}

async function submitAuth(): Promise<void> {
  clearAuthErrors();
  show(byId("auth-notice"), false);
  const username = byId<HTMLInputElement>("auth-username").value.trim().normalize("NFKC");
  const password = byId<HTMLInputElement>("auth-password").value;
  if (!checkAuthForm(username, password)) return;
  const button = byId<HTMLButtonElement>("auth-submit");
  button.disabled = true;
  button.textContent = t("working");
  try {
    const name = mode === "register" ? await api.register(username, password) : username;
    const { token, expire, device } = await api.login(name, password, saved.device(name));
    if (device !== null) saved.saveDevice(name, device);
    saved.save({ token, username: name, expire });
    byId<HTMLInputElement>("auth-password").value = "";
    render();
  } catch (error) {
    explainAuthFailure(error);
  } finally {
    button.disabled = false;
    button.textContent = t(mode === "login" ? "loginButton" : "registerButton");
  }
}

function showAuth(notice: MessageKey | null = null): void {
  void closeConversation();
  current = null;
  document.title = t("appName");
  show(byId("chat-view"), false);
  show(byId("auth-view"), true);
  setMode("login");
  const noticeBox = byId("auth-notice");
  noticeBox.textContent = notice === null ? "" : t(notice);
  show(noticeBox, notice !== null);
  byId<HTMLInputElement>("auth-username").focus();
}

// --- the chat view ---

function peerFromHash(): string | null {
  const match = /^#\/chat\/(.+)$/.exec(location.hash);
  if (match === null) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

function openPeer(peer: string): void {
  location.hash = `#/chat/${encodeURIComponent(peer)}`;
}

function drawRecent(): void {
  if (current === null) return;
  const list = byId("recent-list");
  const peers = saved.recent(current.username);
  const active = peerFromHash();
  list.replaceChildren(...peers.map((peer) => {
    const button = el("button", { className: "peer", attrs: { type: "button" } }, [
      avatar(peer),
      el("span", { className: "peer-name", text: peer }),
    ]);
    if (active !== null && usernameKey(active) === usernameKey(peer)) {
      button.setAttribute("aria-current", "true");
    }
    button.addEventListener("click", () => openPeer(peer));
    return el("li", {}, [button]);
  }));
  show(byId("recent-empty"), peers.length === 0);
}

async function closeConversation(): Promise<void> {
  const closing = conversation;
  conversation = null;
  await closing?.close();
}

/** Opens the conversation the address names, or the peer list when it names none. */
function route(): void {
  if (current === null) return;
  const login = current;
  const peer = peerFromHash();
  const shell = byId("chat-view");
  shell.classList.toggle("chatting", peer !== null);
  show(byId("conversation"), peer !== null);
  show(byId("empty-state"), peer === null);
  void closeConversation();
  drawRecent();
  if (peer === null) {
    document.title = t("appName");
    return;
  }
  const check = checkUsername(peer);
  if (!check.ok) {
    location.hash = "";
    return;
  }
  saved.touchRecent(login.username, check.username);
  drawRecent();
  conversation = new Conversation({
    api,
    baseUrl: location.origin,
    token: login.token,
    me: login.username,
    peer: check.username,
    t,
    onSessionEnded: () => endSession(),
    onPeerMissing: (name) => {
      saved.touchRecent(login.username, name, true);
      drawRecent();
    },
    onPeerName: (name) => {
      saved.touchRecent(login.username, name);
      drawRecent();
    },
  });
  conversation.start();
}

function showChat(login: SavedLogin): void {
  current = login;
  show(byId("auth-view"), false);
  show(byId("chat-view"), true);
  byId("me-avatar").replaceChildren(avatar(login.username));
  byId("me-name").textContent = login.username;
  byId("me-name").title = t("loggedInAs", { name: login.username });
  route();
}

function endSession(): void {
  saved.forget();
  showAuth("errTokenFailed");
}

async function logout(): Promise<void> {
  const login = current;
  saved.forget();
  showAuth();
  if (login !== null) await api.logout(login.token).catch(() => {});
}

/** Back to the login form without logging out: the login stays for the other tabs. */
function switchUser(): void {
  saved.detach();
  showAuth();
}

function render(): void {
  const login = saved.login;
  if (login === null) showAuth();
  else showChat(login);
}

function startPeerForm(): void {
  const input = byId<HTMLInputElement>("peer-input");
  byId("peer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const check = checkUsername(input.value.trim());
    const error = byId("peer-error");
    if (!check.ok) {
      error.textContent = t(
        input.value.trim() === ""
          ? "errRequired"
          : /characters$/.test(check.reason)
          ? "errUsernameLength"
          : "errUsernameChars",
      );
      show(error, true);
      return;
    }
    show(error, false);
    input.value = "";
    openPeer(check.username);
  });
}

function start(): void {
  translatePage();
  byId("tab-login").addEventListener("click", () => setMode("login"));
  byId("tab-register").addEventListener("click", () => setMode("register"));
  byId("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void submitAuth();
  });
  byId("logout-button").addEventListener("click", () => void logout());
  byId("switch-button").addEventListener("click", () => switchUser());
  byId("back-button").addEventListener("click", () => {
    location.hash = "#/";
  });
  startPeerForm();
  addEventListener("hashchange", () => route());
  // This tab's user logged out in another tab: log out here too.
  addEventListener("storage", () => {
    if (saved.login?.token !== current?.token) render();
  });
  addEventListener("online", () => conversation?.reconnectNow());
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    conversation?.markRead();
    conversation?.reconnectNow();
  });
  render();
}

start();
