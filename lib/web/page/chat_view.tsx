/// <reference lib="dom" />
/**
 * The chat view: the side bar with my conversations (kept live by the inbox socket) and the open
 * conversation. The address `#/chat/<peer>` opens a conversation, so reloads, the back button
 * and links keep their place.
 */
import { useEffect, useLayoutEffect, useMemo, useReducer, useState } from "npm:preact@11.2.0/hooks";
import type { ChatApi } from "../../client/chat_api.ts";
import { checkUsername } from "../../users/username.ts";
import { Conversation } from "./conversation.ts";
import { ConversationPane } from "./conversation_view.tsx";
import type { Translate } from "./i18n.ts";
import { Inbox } from "./inbox.ts";
import type { SavedLogin, SavedState } from "./saved_state.ts";
import { Sidebar } from "./sidebar.tsx";

/** What the chat view needs from the page. */
export interface ChatViewProps {
  readonly api: ChatApi;
  readonly saved: SavedState;
  readonly t: Translate;
  readonly iconUrl: string;
  readonly login: SavedLogin;
  readonly onSessionEnded: () => void;
  readonly onSwitch: () => void;
  readonly onLogout: () => void;
}

function peerFromHash(): string | null {
  const match = /^#\/chat\/(.+)$/.exec(location.hash);
  if (match === null) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** Opens the conversation with `peer`. */
export function openPeer(peer: string): void {
  location.hash = `#/chat/${encodeURIComponent(peer)}`;
}

/** The peer the address names, checked; follows the address. */
function usePeerFromHash(): string | null {
  const [hashPeer, setHashPeer] = useState(peerFromHash);
  useEffect(() => {
    const changed = () => setHashPeer(peerFromHash());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  const check = hashPeer === null ? null : checkUsername(hashPeer);
  useEffect(() => {
    if (check !== null && !check.ok) location.hash = "";
  }, [hashPeer]);
  return check?.ok ? check.username : null;
}

/** The inbox of this login, open while the view is, redrawing the view on each change. */
function useInbox(props: ChatViewProps): Inbox {
  const [, redraw] = useReducer((count: number) => count + 1, 0);
  const inbox = useMemo(
    () =>
      new Inbox({
        api: props.api,
        baseUrl: location.origin,
        token: props.login.token,
        onSessionEnded: props.onSessionEnded,
      }),
    [],
  );
  useLayoutEffect(() => {
    const stop = inbox.subscribe(() => redraw(0));
    inbox.start();
    const online = () => inbox.reconnectNow();
    addEventListener("online", online);
    return () => {
      stop();
      removeEventListener("online", online);
      void inbox.close();
    };
  }, [inbox]);
  return inbox;
}

/** The view; see the module documentation. */
export function ChatView(props: ChatViewProps) {
  const { api, t, login } = props;
  const peer = usePeerFromHash();
  const inbox = useInbox(props);
  useEffect(() => {
    if (peer === null) document.title = t("appName");
  }, [peer]);
  const conversation = useMemo(() =>
    peer === null ? null : new Conversation({
      api,
      baseUrl: location.origin,
      token: login.token,
      me: login.username,
      peer,
      t,
      hidden: () => document.hidden,
      peerReadUpto: () => inbox.entry(peer)?.peerReadUpto ?? 0,
      onSessionEnded: props.onSessionEnded,
    }), [peer]);
  return (
    <div id="chat-view" class={`shell${peer !== null ? " chatting" : ""}`}>
      <Sidebar
        me={login.username}
        t={t}
        inbox={inbox}
        active={peer}
        openPeer={openPeer}
        onSwitch={props.onSwitch}
        onLogout={props.onLogout}
      />
      <main class="pane">
        {conversation === null
          ? (
            <div id="empty-state" class="empty-state">
              <img src={props.iconUrl} alt="" width="56" height="56" />
              <p>{t("pickPeer")}</p>
            </div>
          )
          : (
            <ConversationPane
              key={peer}
              conversation={conversation}
              api={api}
              token={login.token}
              t={t}
              onBack={() => location.hash = "#/"}
            />
          )}
      </main>
    </div>
  );
}
