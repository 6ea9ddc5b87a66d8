/// <reference lib="dom" />
/**
 * The search of the open conversation: a box in its header, and the messages that contain the
 * text (any case; Chinese works, also one or two characters), newest first, with a button for
 * more. The service searches (`GET /v1/chat/<peer>/messages?q=`); results are text only.
 */
import { useEffect, useRef, useState } from "npm:preact@11.2.0/hooks";
import type { ChatApi, HistoryMessage } from "../../client/chat_api.ts";
import { usernameKey } from "../../users/username.ts";
import type { Translate } from "./i18n.ts";

const SEARCH_PAGE = 30;

/** What a search needs. */
export interface SearchProps {
  readonly api: ChatApi;
  readonly token: string;
  readonly me: string;
  readonly peer: string;
  readonly t: Translate;
  readonly onClose: () => void;
}

interface Found {
  readonly text: string;
  readonly messages: readonly HistoryMessage[];
  readonly nextBefore: number | null;
}

type SearchState =
  | { readonly kind: "idle" }
  | { readonly kind: "searching"; readonly found: Found | null }
  | { readonly kind: "done"; readonly found: Found }
  | { readonly kind: "failed" };

function Hit(props: { readonly message: HistoryMessage; readonly me: string }) {
  const { message } = props;
  const mine = usernameKey(message.fromUser) === usernameKey(props.me);
  return (
    <li class={`search-hit${mine ? " search-hit--mine" : ""}`} data-message-id={message.messageId}>
      <span class="search-hit-meta">
        {message.fromUser} · <time>{message.sendTime.slice(0, 16)}</time>
      </span>
      <p class="text">{message.msg}</p>
    </li>
  );
}

function statusText(state: SearchState, t: Translate): string {
  if (state.kind === "searching") return t("searching");
  if (state.kind === "failed") return t("searchFailed");
  if (state.kind !== "done") return "";
  const { found } = state;
  return found.messages.length === 0
    ? t("searchNone", { text: found.text })
    : t("searchCount", { count: found.messages.length });
}

function SearchForm(props: {
  readonly t: Translate;
  readonly onSearch: (text: string) => void;
  readonly onClose: () => void;
}) {
  const { t } = props;
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      id="search-form"
      class="search-form"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSearch(input.current!.value);
      }}
    >
      <input
        id="search-input"
        ref={input}
        type="search"
        placeholder={t("searchPlaceholder")}
        aria-label={t("searchPlaceholder")}
        maxLength={200}
      />
      <button class="primary" type="submit">{t("search")}</button>
      <button
        id="search-close"
        class="icon-button"
        type="button"
        aria-label={t("searchClose")}
        title={t("searchClose")}
        onClick={props.onClose}
      >
        ×
      </button>
    </form>
  );
}

/** The search box and its results, in place of the messages while open. */
export function SearchPanel(props: SearchProps) {
  const { api, token, peer, t } = props;
  const [state, setState] = useState<SearchState>({ kind: "idle" });
  const search = async (text: string, more: Found | null) => {
    if (text.trim() === "") return;
    setState({ kind: "searching", found: more });
    try {
      const page = await api.search(token, peer, text, {
        limit: SEARCH_PAGE,
        before: more?.nextBefore ?? null,
      });
      const messages = [...(more?.messages ?? []), ...page.messages];
      setState({ kind: "done", found: { text, messages, nextBefore: page.nextBefore } });
    } catch {
      setState({ kind: "failed" });
    }
  };
  const found = state.kind === "done" || state.kind === "searching" ? state.found : null;
  return (
    <div id="search" class="search">
      <SearchForm t={t} onSearch={(text) => void search(text, null)} onClose={props.onClose} />
      <p id="search-status" class="history-status" role="status">{statusText(state, t)}</p>
      <ol id="search-results" class="search-results">
        {found?.messages.map((message) => (
          <Hit key={message.messageId} message={message} me={props.me} />
        ))}
      </ol>
      {state.kind === "done" && state.found.nextBefore !== null && (
        <button
          class="link search-more"
          type="button"
          onClick={() => search(state.found.text, state.found)}
        >
          {t("searchMore")}
        </button>
      )}
    </div>
  );
}
