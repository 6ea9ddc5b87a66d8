/// <reference lib="dom" />
/** The login and registration view: two tabs, one form, errors beside the fields they concern. */
import type { Ref } from "npm:preact@11.2.0";
import { useEffect, useRef, useState } from "npm:preact@11.2.0/hooks";
import type { ChatApi } from "../../client/chat_api.ts";
import { type AuthErrors, type AuthMode, checkAuthForm, explainAuthFailure } from "./auth_form.ts";
import type { Translate } from "./i18n.ts";
import type { SavedLogin, SavedState } from "./saved_state.ts";

/** What the view needs from the page. */
export interface AuthViewProps {
  readonly api: ChatApi;
  readonly saved: SavedState;
  readonly t: Translate;
  readonly iconUrl: string;
  /** A sentence above the form (why the last session ended), or null. */
  readonly notice: string | null;
  readonly onLoggedIn: (login: SavedLogin) => void;
}

function FieldError(props: { readonly id: string; readonly text?: string }) {
  if (props.text === undefined) return null;
  return <span id={props.id} class="field-error" role="alert">{props.text}</span>;
}

/** Logs in (or registers), keeps the login and the device token, and hands the login on. */
async function authenticate(
  props: AuthViewProps,
  mode: AuthMode,
  username: string,
  password: string,
): Promise<SavedLogin> {
  const { api, saved } = props;
  const name = mode === "register" ? await api.register(username, password) : username;
  const { token, expire, device } = await api.login(name, password, saved.device(name));
  if (device !== null) saved.saveDevice(name, device);
  const login = { token, username: name, expire };
  saved.save(login);
  return login;
}

function Tabs(props: { mode: AuthMode; t: Translate; setMode: (mode: AuthMode) => void }) {
  const { mode, t } = props;
  const tab = (id: string, tabMode: AuthMode, label: string) => (
    <button
      id={id}
      class={`tab${mode === tabMode ? " active" : ""}`}
      type="button"
      role="tab"
      aria-selected={mode === tabMode}
      onClick={() => props.setMode(tabMode)}
    >
      {label}
    </button>
  );
  return (
    <div class="tabs" role="tablist">
      {tab("tab-login", "login", t("loginTab"))}
      {tab("tab-register", "register", t("registerTab"))}
    </div>
  );
}

interface FieldsProps {
  readonly t: Translate;
  readonly register: boolean;
  readonly errors: AuthErrors;
  readonly usernameInput: Ref<HTMLInputElement>;
  readonly passwordInput: Ref<HTMLInputElement>;
}

/** The username and password, with their hints (when registering) and errors. */
function Fields(props: FieldsProps) {
  const { t, register, errors } = props;
  return (
    <>
      <label class="field">
        <span class="label">{t("username")}</span>
        <input
          id="auth-username"
          ref={props.usernameInput}
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          maxLength={64}
          required
        />
        {register && <span id="username-hint" class="hint">{t("usernameHint")}</span>}
        <FieldError id="username-error" text={errors.username} />
      </label>
      <label class="field">
        <span class="label">{t("password")}</span>
        <input
          id="auth-password"
          ref={props.passwordInput}
          name="password"
          type="password"
          autocomplete={register ? "new-password" : "current-password"}
          maxLength={256}
          required
        />
        {register && <span id="password-hint" class="hint">{t("passwordHint")}</span>}
        <FieldError id="password-error" text={errors.password} />
      </label>
    </>
  );
}

/** The form's state and its submission: check, then log in (or register), or say why not. */
function useAuthForm(props: AuthViewProps) {
  const { t } = props;
  const [mode, setMode] = useState<AuthMode>("login");
  const [errors, setErrors] = useState<AuthErrors>({});
  const [busy, setBusy] = useState(false);
  const usernameInput = useRef<HTMLInputElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const submit = async () => {
    setErrors({});
    const username = usernameInput.current!.value.trim().normalize("NFKC");
    const password = passwordInput.current!.value;
    const problems = checkAuthForm(mode, username, password, t);
    if (Object.keys(problems).length > 0) return setErrors(problems);
    setBusy(true);
    try {
      const login = await authenticate(props, mode, username, password);
      passwordInput.current!.value = "";
      props.onLoggedIn(login);
    } catch (error) {
      setErrors(explainAuthFailure(error, t));
    } finally {
      setBusy(false);
    }
  };
  const switchMode = (next: AuthMode) => {
    setMode(next);
    setErrors({});
  };
  return { mode, switchMode, errors, busy, usernameInput, passwordInput, submit };
}

/** The view; see the module documentation. */
export function AuthView(props: AuthViewProps) {
  const { t } = props;
  const form = useAuthForm(props);
  useEffect(() => {
    document.title = t("appName");
    form.usernameInput.current?.focus();
  }, []);
  const register = form.mode === "register";
  return (
    <section id="auth-view" class="auth">
      <div class="auth-card">
        <div class="brand">
          <img class="brand-mark" src={props.iconUrl} alt="" width="40" height="40" />
          <h1>{t("appName")}</h1>
        </div>
        <p class="tagline">{t("tagline")}</p>
        {props.notice !== null && (
          <p id="auth-notice" class="notice" role="status">{props.notice}</p>
        )}
        <Tabs mode={form.mode} t={t} setMode={form.switchMode} />
        <form
          id="auth-form"
          class="auth-form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void form.submit();
          }}
        >
          <Fields
            t={t}
            register={register}
            errors={form.errors}
            usernameInput={form.usernameInput}
            passwordInput={form.passwordInput}
          />
          {form.errors.form !== undefined && (
            <p id="auth-error" class="form-error" role="alert">{form.errors.form}</p>
          )}
          <button id="auth-submit" class="primary" type="submit" disabled={form.busy}>
            {form.busy ? t("working") : t(register ? "registerButton" : "loginButton")}
          </button>
        </form>
      </div>
    </section>
  );
}
