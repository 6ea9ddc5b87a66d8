/// <reference lib="dom" />
/**
 * The conversation pane: the header (peer, presence, connection), a sentence about a problem,
 * the messages and the composer. It runs the conversation it is given: opens it when shown and
 * closes it when gone, and redraws on each of its changes.
 */
import { useLayoutEffect, useReducer, useRef } from "preact/hooks";
import { Avatar } from "./avatar.tsx";
import { Composer } from "./composer.tsx";
import type { Conversation, ScrollIntent } from "./conversation.ts";
import { connectionText } from "./conversation_text.ts";
import type { Translate } from "./i18n.ts";
import { MessageList } from "./message_list.tsx";

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

/** The pane of the open conversation. */
export function ConversationPane(props: {
  readonly conversation: Conversation;
  readonly t: Translate;
  readonly onBack: () => void;
}) {
  const { conversation, t } = props;
  const scroll = useConversation(conversation);
  return (
    <section id="conversation" class="conversation">
      <header class="conversation-head">
        <button
          id="back-button"
          class="icon-button back"
          type="button"
          aria-label={t("back")}
          title={t("back")}
          onClick={props.onBack}
        >
          ‹
        </button>
        <span id="peer-avatar">
          <Avatar name={conversation.peerName} />
        </span>
        <div class="who">
          <h2 id="peer-name" class="peer-title">{conversation.peerName}</h2>
          <Presence conversation={conversation} t={t} />
        </div>
        <ConnectionBadge conversation={conversation} t={t} />
      </header>
      {conversation.banner !== null && (
        <div id="banner" class="banner" role="alert">
          <span id="banner-text">{conversation.banner.text}</span>
          <button
            id="banner-close"
            class="icon-button"
            type="button"
            aria-label={t("dismiss")}
            title={t("dismiss")}
            onClick={() => conversation.hideBanner()}
          >
            ×
          </button>
        </div>
      )}
      <MessageList conversation={conversation} t={t} scroll={scroll} />
      <Composer conversation={conversation} t={t} />
    </section>
  );
}
