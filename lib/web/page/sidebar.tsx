/// <reference lib="dom" />
/** The side bar: who I am (switch user, log out), a form to start a chat, my conversations. */
import { useRef, useState } from "npm:preact@11.2.0/hooks";
import { usernameProblem } from "./auth_form.ts";
import { Avatar } from "./avatar.tsx";
import type { Translate } from "./i18n.ts";
import type { Inbox } from "./inbox.ts";
import { InboxList } from "./inbox_list.tsx";

/** What the side bar shows and does. */
export interface SidebarProps {
  readonly me: string;
  readonly t: Translate;
  readonly inbox: Inbox;
  /** The open conversation's peer, or null. */
  readonly active: string | null;
  readonly openPeer: (peer: string) => void;
  readonly onSwitch: () => void;
  readonly onLogout: () => void;
}

function PeerForm(props: { readonly t: Translate; readonly openPeer: (peer: string) => void }) {
  const { t } = props;
  const input = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = (event: Event) => {
    event.preventDefault();
    const peer = input.current!.value.trim();
    const problem = usernameProblem(peer);
    setError(problem === null ? null : t(problem));
    if (problem !== null) return;
    input.current!.value = "";
    props.openPeer(peer.normalize("NFKC"));
  };
  return (
    <>
      <form id="peer-form" class="peer-form" noValidate onSubmit={submit}>
        <input
          id="peer-input"
          ref={input}
          name="peer"
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
          maxLength={64}
          placeholder={t("peerPlaceholder")}
          aria-label={t("peerPlaceholder")}
          title={t("peerPlaceholder")}
        />
        <button class="primary" type="submit">{t("startChat")}</button>
      </form>
      {error !== null && <p id="peer-error" class="field-error" role="alert">{error}</p>}
    </>
  );
}

/** The side bar; see the module documentation. */
export function Sidebar(props: SidebarProps) {
  const { me, t, inbox } = props;
  return (
    <aside class="sidebar">
      <header class="me">
        <span id="me-avatar">
          <Avatar name={me} />
        </span>
        <span id="me-name" class="me-name" title={t("loggedInAs", { name: me })}>{me}</span>
        <button id="switch-button" class="ghost" type="button" onClick={props.onSwitch}>
          {t("switchUser")}
        </button>
        <button id="logout-button" class="ghost" type="button" onClick={props.onLogout}>
          {t("logout")}
        </button>
      </header>
      <PeerForm t={t} openPeer={props.openPeer} />
      <InboxList
        me={me}
        t={t}
        entries={inbox.entries}
        loaded={inbox.loaded}
        failed={inbox.failed}
        active={props.active}
        openPeer={props.openPeer}
      />
    </aside>
  );
}
