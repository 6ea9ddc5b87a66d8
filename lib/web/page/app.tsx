/// <reference lib="dom" />
/**
 * The page: the login view or the chat view of this tab's login. A login that ends in another
 * tab (logout) ends here too; a token the service no longer takes brings the login back with a
 * notice.
 */
import { useEffect, useState } from "npm:preact@11.2.0/hooks";
import type { ChatApi } from "../../client/chat_api.ts";
import { AuthView } from "./auth_view.tsx";
import { ChatView } from "./chat_view.tsx";
import type { MessageKey, Translate } from "./i18n.ts";
import type { SavedLogin, SavedState } from "./saved_state.ts";

/** What the page is made of; `main.tsx` builds it from the browser. */
export interface PageDeps {
  readonly api: ChatApi;
  readonly saved: SavedState;
  readonly t: Translate;
  /** The address of the service's icon (it changes with the icon). */
  readonly iconUrl: string;
}

/** The page; see the module documentation. */
export function App(props: { readonly deps: PageDeps }) {
  const { api, saved, t, iconUrl } = props.deps;
  const [login, setLogin] = useState<SavedLogin | null>(() => saved.login);
  const [notice, setNotice] = useState<MessageKey | null>(null);
  useEffect(() => {
    // This tab's user logged out in another tab: log out here too.
    const storage = () => {
      const now = saved.login;
      setLogin((shown) => shown?.token === now?.token ? shown : now);
    };
    addEventListener("storage", storage);
    return () => removeEventListener("storage", storage);
  }, []);
  const leave = (why: MessageKey | null) => {
    setNotice(why);
    setLogin(null);
  };
  if (login === null) {
    return (
      <AuthView
        api={api}
        saved={saved}
        t={t}
        iconUrl={iconUrl}
        notice={notice === null ? null : t(notice)}
        onLoggedIn={(next) => {
          setNotice(null);
          setLogin(next);
        }}
      />
    );
  }
  return (
    <ChatView
      key={login.token}
      api={api}
      saved={saved}
      t={t}
      iconUrl={iconUrl}
      login={login}
      onSessionEnded={() => {
        saved.forget();
        leave("errTokenFailed");
      }}
      onSwitch={() => {
        // Back to the login form without logging out: the login stays for the other tabs.
        saved.detach();
        leave(null);
      }}
      onLogout={() => {
        saved.forget();
        leave(null);
        void api.logout(login.token).catch(() => {});
      }}
    />
  );
}
