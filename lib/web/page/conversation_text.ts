/**
 * What the conversation's events read as, in the page's words: the connection badge, a 30004
 * reason, and the sentence an error frame puts above the conversation.
 */
import type { ErrorEvent as ChatErrorEvent, StateEvent } from "../../client/chat_client.ts";
import { CHAT_STATUS, CLOSE_CODE } from "../../protocol/status.ts";
import type { Translate } from "./i18n.ts";

/** The connection badge: its text and its explanation (the title). */
export interface ConnectionText {
  readonly text: string;
  readonly title: string;
}

/** The badge of a connection state; a 1013 close (too slow, or no Redis) says so. */
export function connectionText(event: StateEvent, t: Translate): ConnectionText {
  const later = event.state === "retrying" && event.closeCode === CLOSE_CODE.TRY_AGAIN_LATER;
  const title = later ? t("laterExplained") : "";
  if (event.state === "connecting") return { text: t("connecting"), title };
  if (event.state === "open") return { text: t("connected"), title };
  if (event.state === "closed") return { text: t("disconnected"), title };
  if ((event.retryInMs ?? 0) >= 1500) {
    const seconds = Math.round((event.retryInMs ?? 0) / 1000);
    return { text: t(later ? "retryingLater" : "retrying", { seconds }), title };
  }
  return { text: t(later ? "retryingLaterSoon" : "retryingSoon"), title };
}

/** A 30004 reason in the page's words, where it is one the page knows. */
export function reasonText(reason: string, t: Translate): string {
  const tooLong = /longer than (\d+) characters/.exec(reason);
  if (tooLong !== null) return t("reasonTooLong", { max: tooLong[1] });
  if (reason === "msg is empty") return t("reasonEmpty");
  return reason;
}

/** A sentence above the conversation; a connection one goes by itself once a socket gets in. */
export interface Banner {
  readonly text: string;
  readonly kind: "connection" | "message";
}

/** The banner an error frame puts up, or null for the errors that put up none. */
export function errorBanner(event: ChatErrorEvent, t: Translate): Banner | null {
  const { status } = event;
  if (status === CHAT_STATUS.INVALID_MESSAGE) {
    return {
      text: t("errInvalidMessage", { reason: reasonText(event.reason ?? "", t) }),
      kind: "message",
    };
  }
  if (status === CHAT_STATUS.NOT_STORED) return { text: t("errNotStored"), kind: "message" };
  if (status === CHAT_STATUS.TOO_MANY_CONNECTIONS) {
    const text = event.limit === null
      ? t("errTooManyConnectionsAny")
      : t("errTooManyConnections", { limit: event.limit });
    return { text, kind: "connection" };
  }
  return null;
}
