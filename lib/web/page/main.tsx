/// <reference lib="dom" />
/**
 * The chat page's entry point: it builds the page's parts from the browser (language, saved
 * state, the API) and draws the page with Preact into `#app`. The chat logic is the client
 * module's (`lib/client/`); the views are in this folder.
 */
import { render } from "npm:preact@11.2.0";
import { ChatApi } from "../../client/chat_api.ts";
import { App } from "./app.tsx";
import { pickLanguage, translator } from "./i18n.ts";
import { SavedState } from "./saved_state.ts";

const language = pickLanguage(navigator.languages);
document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
// The icon's address has its content hash in it (tools/build_web.ts): take it from the head.
const icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
const deps = {
  iconUrl: icon?.getAttribute("href") ?? "",
  api: new ChatApi({ baseUrl: location.origin }),
  saved: new SavedState(localStorage, sessionStorage),
  t: translator(language),
};
render(<App deps={deps} />, document.getElementById("app")!);
