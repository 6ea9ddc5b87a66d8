/// <reference lib="dom" />
/**
 * The list of my conversations in the side bar: each with the peer, an online dot, the last
 * message (mine marked), its time and the unread count, most recent first. The open peer is
 * listed too before a message makes it a conversation.
 */
import type { HistoryMessage } from "../../protocol/history_item.ts";
import { usernameKey } from "../../users/username.ts";
import { Avatar } from "./avatar.tsx";
import type { Translate } from "./i18n.ts";
import type { InboxEntry } from "./inbox.ts";
import { dateOf } from "./message_list.tsx";

/** What the list shows and does. */
export interface InboxListProps {
  readonly me: string;
  readonly t: Translate;
  readonly entries: readonly InboxEntry[];
  /** Whether the list was read once (an empty list says so only then). */
  readonly loaded: boolean;
  readonly failed: boolean;
  /** The open conversation's peer, or null. */
  readonly active: string | null;
  readonly openPeer: (peer: string) => void;
}

function preview(message: HistoryMessage | null, me: string, t: Translate): string {
  if (message === null) return "";
  const text = message.recalled === true ? t("recalledPreview") : message.msg.split("\n")[0];
  return usernameKey(message.fromUser) === usernameKey(me) ? `${t("youPrefix")}${text}` : text;
}

/** `HH:MM` today, else `MM-DD`. */
function shortTime(sendTime: string | undefined): string {
  if (sendTime === undefined) return "";
  return dateOf(sendTime) === dateOf(null) ? sendTime.slice(11, 16) : sendTime.slice(5, 10);
}

function Item(props: InboxListProps & { readonly entry: InboxEntry; readonly known: boolean }) {
  const { entry, t } = props;
  const current = props.active !== null && usernameKey(props.active) === usernameKey(entry.peer);
  return (
    <li class="inbox-item" data-peer={usernameKey(entry.peer)}>
      <button
        class="peer"
        type="button"
        aria-current={current ? "true" : undefined}
        onClick={() => props.openPeer(entry.peer)}
      >
        <span class="avatar-wrap">
          <Avatar name={entry.peer} />
          {props.known && <span class="online-dot" data-online={String(entry.online)} />}
        </span>
        <span class="peer-body">
          <span class="peer-line">
            <span class="peer-name">{entry.peer}</span>
            <time class="item-time">{shortTime(entry.lastMessage?.sendTime)}</time>
          </span>
          <span class="peer-line">
            <span class="preview">{preview(entry.lastMessage, props.me, t)}</span>
            {entry.unread > 0 && (
              <span class="unread-badge" title={t("unreadCount", { count: entry.unread })}>
                {entry.unread > 99 ? "99+" : entry.unread}
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}

/** The list; see the module documentation. */
export function InboxList(props: InboxListProps) {
  const { entries, active, t } = props;
  const activeKey = active === null ? null : usernameKey(active);
  const listed = entries.some((entry) => usernameKey(entry.peer) === activeKey);
  const opening: InboxEntry | null = active === null || listed ? null : {
    peer: active,
    unread: 0,
    lastMessage: null,
    online: false,
    lastSeen: null,
    peerReadUpto: 0,
  };
  return (
    <>
      <h2 class="section-title">{t("conversations")}</h2>
      <ul id="inbox-list" class="peers">
        {opening !== null && <Item {...props} entry={opening} known={false} />}
        {entries.map((entry) => (
          <Item key={usernameKey(entry.peer)} {...props} entry={entry} known />
        ))}
      </ul>
      {props.failed && <p class="muted">{t("conversationsFailed")}</p>}
      {props.loaded && entries.length === 0 && opening === null && (
        <p id="inbox-empty" class="muted">{t("noConversations")}</p>
      )}
    </>
  );
}
