/// <reference lib="dom" />
/**
 * The composer: Enter sends, Shift+Enter is a new line, and an Enter that ends an IME
 * composition (typing Chinese) only confirms the characters. It grows with its text and counts
 * characters near the limit.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "npm:preact@11.2.0/hooks";
import { countCodePoints } from "../../protocol/text.ts";
import { type Conversation, MAX_MESSAGE_CHARS } from "./conversation.ts";
import type { Translate } from "./i18n.ts";

/** The tallest the composer grows, in px. */
const MAX_HEIGHT_PX = 160;

/** Enter sends; not with Shift (a new line), nor when it ends an IME composition. */
function sends(event: KeyboardEvent): boolean {
  if (event.key !== "Enter" || event.shiftKey) return false;
  return !(event.isComposing || event.keyCode === 229);
}

function CharCount(props: { readonly count: number }) {
  const { count } = props;
  return (
    <span
      id="char-count"
      class={`char-count${count > MAX_MESSAGE_CHARS ? " over" : ""}`}
      aria-live="polite"
    >
      {count > MAX_MESSAGE_CHARS - 200 ? `${count} / ${MAX_MESSAGE_CHARS}` : ""}
    </span>
  );
}

/** The composer of `conversation`. */
export function Composer(props: { readonly conversation: Conversation; readonly t: Translate }) {
  const { conversation, t } = props;
  const [text, setText] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => input.current?.focus(), [conversation]);
  useLayoutEffect(() => {
    const element = input.current!;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);
  const submit = () => {
    if (conversation.submit(input.current!.value)) setText("");
  };
  const count = countCodePoints(text);
  const disabled = conversation.peerMissing;
  const placeholder = t("composerPlaceholder");
  return (
    <form
      id="composer"
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <textarea
        id="composer-input"
        ref={input}
        rows={1}
        enterkeyhint="send"
        placeholder={placeholder}
        aria-label={placeholder}
        title={placeholder}
        value={text}
        disabled={disabled}
        onInput={(event) => {
          setText(event.currentTarget.value);
          conversation.typing(event.currentTarget.value);
        }}
        onKeyDown={(event) => {
          if (!sends(event)) return;
          event.preventDefault();
          submit();
        }}
      />
      <CharCount count={count} />
      <button
        id="send-button"
        class="primary send"
        type="submit"
        disabled={disabled || text.trim() === "" || count > MAX_MESSAGE_CHARS}
      >
        {t("send")}
      </button>
    </form>
  );
}
