/// <reference lib="dom" />
/**
 * The conversation pane: the header (peer, presence or "typing...", search, connection), a
 * sentence about a problem, the messages (or the search's results) and the composer. It runs the conversation it is given: opens it when shown and
 * closes it when gone, and redraws on each of its changes.
 */
import { useLayoutEffect, useReducer, useRef, useState } from "npm:preact@11.2.0/hooks";
import type { ChatApi } from "../../client/chat_api.ts";
import { Avatar } from "./avatar.tsx";
import { Composer } from "./composer.tsx";
import type { Conversation, ScrollIntent } from "./conversation.ts";
import { connectionText } from "./conversation_text.ts";
import type { Translate } from "./i18n.ts";
import { MessageList } from "./message_list.tsx";
import { SearchPanel } from "./search_panel.tsx";

/** Opens `conversation` while mounted; redraws on each change and keeps its scroll intent. */
function useConversation(conversation: Conversation): { current: ScrollIntent } {
  const [, redraw] = useReducer((count: number) => count + 1, 0);
  const scroll = useRef<ScrollIntent>(null);
  useLayoutEffect(() => {
    const stop = conversation.subscribe((intent) => {
      // Several changes may come before one redraw: keep the one that asks to move.
      scroll.current = intent ?? scroll.current;
      redraw(0);
    });
    conversation.start();
    const online = () => conversation.reconnectNow();
    const visible = () => {
      if (document.hidden) return;
      conversation.markRead();
      conversation.reconnectNow();
    };
    addEventListener("online", online);
    document.addEventListener("visibilitychange", visible);
    return () => {
      stop();
      removeEventListener("online", online);
      document.removeEventListener("visibilitychange", visible);
      void conversation.close();
    };
  }, [conversation]);
  useLayoutEffect(() => {
    document.title = conversation.title;
  });
  return scroll;
}

function Presence(props: { readonly conversation: Conversation; readonly t: Translate }) {
  const { conversation, t } = props;
  if (conversation.selfChat) {
    return <span id="peer-status" class="presence" data-presence="self">{t("notesToSelf")}</span>;
  }
  if (conversation.signals.peerTyping) {
    return (
      <span id="peer-status" class="presence typing" data-presence="typing">{t("typing")}</span>
    );
  }
  const online = conversation.presence;
  const state = online === null ? "unknown" : online ? "online" : "offline";
  return (
    <span id="peer-status" class="presence" data-presence={state}>
      {online === null ? "" : t(online ? "online" : "offline")}
    </span>
  );
}

function ConnectionBadge(props: { readonly conversation: Conversation; readonly t: Translate }) {
  const { conversation, t } = props;
  const { state } = conversation.connection;
  const { text, title } = connectionText(conversation.connection, t);
  return (
    <div id="connection" class="connection" data-state={state} role="status" title={title}>
      <span class="dot" aria-hidden="true" />
      <span id="connection-text">{text}</span>
      {state === "retrying" && (
        <button
          id="reconnect-button"
          class="link"
          type="button"
          onClick={() => conversation.reconnectNow()}
        >
          {t("reconnectNow")}
        </button>
      )}
    </div>
  );
}

/** The icon buttons of the header: back (phones) and search. */
function IconButton(props: {
  readonly id: string;
  readonly className: string;
  readonly label: string;
  readonly pressed?: boolean;
  readonly onClick: () => void;
  readonly children: string;
}) {
  return (
    <button
      id={props.id}
      class={`icon-button ${props.className}`}
      type="button"
      aria-label={props.label}
      title={props.label}
      aria-pressed={props.pressed}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

function Header(props: {
  readonly conversation: Conversation;
  readonly t: Translate;
  readonly searching: boolean;
  readonly setSearching: (searching: boolean) => void;
  readonly onBack: () => void;
}) {
  const { conversation, t } = props;
  return (
    <header class="conversation-head">
      <IconButton id="back-button" className="back" label={t("back")} onClick={props.onBack}>
        ‹
      </IconButton>
      <span id="peer-avatar">
        <Avatar name={conversation.peerName} />
      </span>
      <div class="who">
        <h2 id="peer-name" class="peer-title">{conversation.peerName}</h2>
        <Presence conversation={conversation} t={t} />
      </div>
      <IconButton
        id="search-button"
        className="search-toggle"
        label={t("search")}
        pressed={props.searching}
        onClick={() => props.setSearching(!props.searching)}
      >
        ⌕
      </IconButton>
      <ConnectionBadge conversation={conversation} t={t} />
    </header>
  );
}

/** The pane of the open conversation. */
export function ConversationPane(props: {
  readonly conversation: Conversation;
  readonly api: ChatApi;
  readonly token: string;
  readonly t: Translate;
  readonly onBack: () => void;
}) {
  const { conversation, t } = props;
  const scroll = useConversation(conversation);
  const [searching, setSearching] = useState(false);
  return (
    <section id="conversation" class="conversation">
      <Header
        conversation={conversation}
        t={t}
        searching={searching}
        setSearching={setSearching}
        onBack={props.onBack}
      />
      {conversation.banner !== null && (
        <div id="banner" class="banner" role="alert">
          <span id="banner-text">{conversation.banner.text}</span>
          <IconButton
            id="banner-close"
            className=""
            label={t("dismiss")}
            onClick={() => conversation.hideBanner()}
          >
            ×
          </IconButton>
        </div>
      )}
      {searching && (
        <SearchPanel
          api={props.api}
          token={props.token}
          me={conversation.me}
          peer={conversation.peerName}
          t={t}
          onClose={() => setSearching(false)}
        />
      )}
      <MessageList conversation={conversation} t={t} scroll={scroll} hidden={searching} />
      <Composer conversation={conversation} t={t} />
    </section>
  );
}
