/// <reference lib="dom" />
/**
 * The messages of the open conversation: a date line before each day's first message, the
 * state of mine under them, older pages loaded when scrolled near the top, and the view kept
 * where the reader is: at the bottom for new messages when it was there, in place when an older
 * page comes in above, else a "new messages" button.
 */
import { useLayoutEffect, useRef, useState } from "npm:preact@11.2.0/hooks";
import type { Conversation, ScrollIntent } from "./conversation.ts";
import type { Translate } from "./i18n.ts";
import type { BookItem } from "./message_book.ts";

// How close to an edge (px) counts as "at" it: load older near the top, follow near the bottom.
const EDGE_PX = 120;

/** `YYYY-MM-DD` of a `send_time`, or of today (`daysAgo` days back) in the browser's time zone. */
export function dateOf(sendTime: string | null, daysAgo = 0): string {
  if (sendTime !== null) return sendTime.slice(0, 10);
  const day = new Date();
  day.setDate(day.getDate() - daysAgo);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

function nearBottom(scroller: HTMLElement): boolean {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < EDGE_PX;
}

function RecallMenu(props: { readonly onRecall: () => void; readonly t: Translate }) {
  const { t } = props;
  const [open, setOpen] = useState(false);
  return (
    <span class="msg-menu-wrap">
      <button
        class="msg-menu-button"
        type="button"
        aria-label={t("messageMenu")}
        title={t("messageMenu")}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        ⋯
      </button>
      {open && (
        <span class="msg-menu" role="menu">
          <button
            class="recall-button"
            type="button"
            role="menuitem"
            onClick={() => {
              setOpen(false);
              props.onRecall();
            }}
          >
            {t("recall")}
          </button>
        </span>
      )}
    </span>
  );
}

/** The words under one of my messages: its state, or how far it got once stored. */
function stateText(item: BookItem, conversation: Conversation, t: Translate): string {
  if (item.label !== null) return item.label;
  if (item.state !== "stored") return t(item.state ?? "stored");
  const receipt = conversation.signals.receipt(item.key);
  return t(receipt === "sent" ? "stored" : receipt);
}

function MessageRow(
  props: { readonly item: BookItem; readonly conversation: Conversation; readonly t: Translate },
) {
  const { item, conversation, t } = props;
  const stored = Number.isFinite(item.key);
  if (item.recalled) {
    return (
      <li class="msg-note msg--recalled" data-message-id={String(item.key)}>
        {item.mine ? t("recalledMine") : t("recalledTheirs", { name: conversation.peerName })}
      </li>
    );
  }
  const receipt = item.state === "stored" ? conversation.signals.receipt(item.key) : undefined;
  return (
    <li
      class={`msg ${item.mine ? "msg--mine" : "msg--theirs"}`}
      data-message-id={stored ? String(item.key) : undefined}
      data-state={item.state ?? undefined}
      data-receipt={receipt}
    >
      <div class="bubble">
        <p class="text">{item.text}</p>
      </div>
      <div class="meta">
        {conversation.canRecall(item) && (
          <RecallMenu
            t={t}
            onRecall={() => conversation.recall(item)}
          />
        )}
        <time
          class="time"
          dateTime={item.sendTime?.replace(" ", "T")}
          title={item.sendTime ?? undefined}
        >
          {item.sendTime?.slice(11, 16) ?? ""}
        </time>
        {item.state !== null && <span class="state">{stateText(item, conversation, t)}</span>}
        {item.retry !== null && (
          <button class="retry" type="button" onClick={item.retry}>{t("retry")}</button>
        )}
      </div>
    </li>
  );
}

function dayLabel(date: string, t: Translate): string {
  if (date === dateOf(null)) return t("today");
  if (date === dateOf(null, 1)) return t("yesterday");
  return date;
}

function rows(conversation: Conversation, t: Translate) {
  const out = [];
  let previous = "";
  for (const item of conversation.book.items) {
    const date = dateOf(item.sendTime);
    if (date !== previous) {
      previous = date;
      out.push(
        <li key={`day-${date}`} class="day" role="separator">
          <span>{dayLabel(date, t)}</span>
        </li>,
      );
    }
    out.push(<MessageRow key={item.uid} item={item} conversation={conversation} t={t} />);
  }
  return out;
}

/** Where the scroller was before this render's change, to follow or keep the reader's place. */
interface Geometry {
  fromBottom: number;
  nearBottom: boolean;
}

/**
 * Follows each change as its intent says (see `ScrollIntent`); returns the scroller's ref, whether
 * the "new messages" button shows, and how to go to the bottom.
 */
function useFollow(conversation: Conversation, scroll: { current: ScrollIntent }) {
  const scroller = useRef<HTMLDivElement>(null);
  const geometry = useRef<Geometry>({ fromBottom: 0, nearBottom: true });
  const [newMessages, setNewMessages] = useState(false);
  // Read while rendering, before the change reaches the DOM.
  if (scroller.current !== null) {
    const element = scroller.current;
    geometry.current = {
      fromBottom: element.scrollHeight - element.scrollTop,
      nearBottom: nearBottom(element),
    };
  }
  const toBottom = () => {
    const element = scroller.current!;
    element.scrollTop = element.scrollHeight;
    setNewMessages(false);
  };
  useLayoutEffect(() => {
    const intent = scroll.current;
    scroll.current = null;
    const element = scroller.current!;
    if (intent === "bottom") toBottom();
    else if (intent === "older") {
      element.scrollTop = element.scrollHeight - geometry.current.fromBottom;
    } else if (intent === "arrived") {
      if (geometry.current.nearBottom) toBottom();
      else setNewMessages(true);
    }
    // A short history may not fill the pane, and then no scroll event would ask for more.
    if ((intent === "bottom" || intent === "older") && element.scrollTop < EDGE_PX) {
      void conversation.history.loadOlder();
    }
  });
  return { scroller, newMessages, setNewMessages, toBottom };
}

/** The scrolling list; `scroll` holds the change's intent until this view has followed it. */
export function MessageList(props: {
  readonly conversation: Conversation;
  readonly t: Translate;
  readonly scroll: { current: ScrollIntent };
  /** Out of sight (the search's results show instead), but kept with its place. */
  readonly hidden?: boolean;
}) {
  const { conversation, t } = props;
  const { scroller, newMessages, setNewMessages, toBottom } = useFollow(conversation, props.scroll);
  const onScroll = () => {
    const element = scroller.current!;
    if (element.scrollTop < EDGE_PX) void conversation.history.loadOlder();
    if (nearBottom(element)) setNewMessages(false);
  };
  return (
    <>
      <div
        id="messages"
        class="messages"
        ref={scroller}
        onScroll={onScroll}
        hidden={props.hidden === true}
      >
        <p id="history-status" class="history-status">{conversation.history.status}</p>
        <ol id="message-list" class="message-list" aria-live="polite">
          {rows(conversation, t)}
        </ol>
      </div>
      {newMessages && (
        <button id="new-messages" class="new-messages" type="button" onClick={toBottom}>
          {t("newMessages")}
        </button>
      )}
    </>
  );
}
