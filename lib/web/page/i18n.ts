/**
 * The page's words, in Chinese (the API document's language) and English, chosen from the
 * browser's languages. Every string the page shows comes from here.
 */

const ZH = {
  appName: "聊天",
  tagline: "一对一聊天，消息先存后发，离线也不丢。",
  loginTab: "登录",
  registerTab: "注册",
  username: "用户名",
  password: "密码",
  usernameHint: "字母、数字、汉字或 _ - .，最多 32 个字符",
  passwordHint: "8 到 128 个字符",
  loginButton: "登录",
  registerButton: "注册并登录",
  working: "请稍候…",
  logout: "退出",
  switchUser: "切换账号",
  loggedInAs: "已登录：{name}",
  startChat: "开始聊天",
  peerPlaceholder: "输入对方的用户名",
  pickPeer: "选择一位联系人，或输入用户名开始聊天。",
  back: "返回",
  composerPlaceholder: "输入消息，Enter 发送，Shift+Enter 换行",
  send: "发送",
  online: "在线",
  offline: "离线",
  notesToSelf: "给自己的备忘",
  connecting: "正在连接…",
  connected: "已连接",
  retrying: "连接已断开，{seconds} 秒后重连",
  retryingSoon: "连接已断开，正在重连…",
  retryingLater: "连接暂停，{seconds} 秒后重连",
  retryingLaterSoon: "连接暂停，正在重连…",
  laterExplained:
    "网络太慢，或服务器一时忙不过来，服务器先断开了这个连接。发给你的消息都还在服务器上，重连后送达。",
  reconnectNow: "立即重连",
  disconnected: "已断开",
  sending: "发送中…",
  stored: "已发送",
  throttled: "发送太快，稍后自动重发",
  failed: "未发送",
  retry: "重试",
  loadingOlder: "正在加载更早的消息…",
  scrollForOlder: "上滑查看更早的消息",
  noOlder: "没有更早的消息了",
  noMessages: "还没有消息，打个招呼吧。",
  historyFailed: "历史消息加载失败。",
  historyBusy: "服务器正忙，稍后自动重新加载历史消息…",
  newMessages: "有新消息 ↓",
  dismiss: "关闭",
  today: "今天",
  yesterday: "昨天",
  errTokenFailed: "登录已失效，请重新登录。",
  errPeerMissing: "用户“{name}”不存在，请检查用户名。",
  errInvalidMessage: "消息未发送：{reason}",
  errNotStored: "服务器暂时没能保存这条消息，请重试。",
  errTooManyConnections:
    "这个账号打开的聊天窗口太多了（最多 {limit} 个）。关掉其他标签页或设备上的聊天，这里会自动连上。",
  errTooManyConnectionsAny:
    "这个账号打开的聊天窗口太多了。关掉其他标签页或设备上的聊天，这里会自动连上。",
  errTooManyAttempts: "尝试次数太多，请 {seconds} 秒后再试。",
  errBusy: "服务器正忙，请 {seconds} 秒后再试。",
  errLogin: "用户名或密码错误。",
  errTaken: "这个用户名已被占用，换一个吧。",
  errNetwork: "无法连接服务器，请检查网络后重试。",
  errServer: "服务器出错了，请稍后重试。",
  errUsernameLength: "用户名需为 1 到 32 个字符。",
  errUsernameChars: "用户名只能包含字母、数字、汉字和 _ - .",
  errPasswordLength: "密码需为 8 到 128 个字符。",
  errRequired: "请填写此项。",
  reasonEmpty: "消息不能为空",
  reasonTooLong: "消息太长，最多 {max} 个字",
  conversations: "会话",
  noConversations: "还没有会话。输入对方的用户名开始聊天吧。",
  conversationsFailed: "会话列表加载失败，稍后自动重试。",
  unreadCount: "{count} 条未读",
  youPrefix: "我：",
  recalledPreview: "[消息已撤回]",
  delivered: "已送达",
  read: "已读",
  typing: "正在输入…",
  messageMenu: "更多操作",
  recall: "撤回",
  recalledMine: "你撤回了一条消息",
  recalledTheirs: "{name} 撤回了一条消息",
  errRecall: "这条消息不能撤回了（只能撤回自己 2 分钟内发的消息）。",
  search: "搜索",
  searchPlaceholder: "搜索聊天记录",
  searchClose: "关闭搜索",
  searching: "正在搜索…",
  searchNone: "没有找到包含“{text}”的消息。",
  searchCount: "找到 {count} 条消息",
  searchMore: "更多结果",
  searchFailed: "搜索失败，请重试。",
} as const;

/** A key of the page's words. */
export type MessageKey = keyof typeof ZH;

const EN: Record<MessageKey, string> = {
  appName: "Chat",
  tagline: "One-to-one chat. Messages are stored before they are sent, so none is lost offline.",
  loginTab: "Log in",
  registerTab: "Sign up",
  username: "Username",
  password: "Password",
  usernameHint: "Letters, digits or _ - ., up to 32 characters",
  passwordHint: "8 to 128 characters",
  loginButton: "Log in",
  registerButton: "Sign up and log in",
  working: "One moment…",
  logout: "Log out",
  switchUser: "Switch user",
  loggedInAs: "Logged in as {name}",
  startChat: "Start chat",
  peerPlaceholder: "Their username",
  pickPeer: "Pick a contact, or type a username to start chatting.",
  back: "Back",
  composerPlaceholder: "Message. Enter sends, Shift+Enter adds a line",
  send: "Send",
  online: "Online",
  offline: "Offline",
  notesToSelf: "Notes to self",
  connecting: "Connecting…",
  connected: "Connected",
  retrying: "Connection lost, retrying in {seconds} s",
  retryingSoon: "Connection lost, reconnecting…",
  retryingLater: "Paused, reconnecting in {seconds} s",
  retryingLaterSoon: "Paused, reconnecting…",
  laterExplained:
    "The connection was too slow, or the server could not serve it for a moment, so the server closed it for now. Your messages wait on the server and arrive when it reconnects.",
  reconnectNow: "Reconnect now",
  disconnected: "Disconnected",
  sending: "Sending…",
  stored: "Sent",
  throttled: "Sending too fast, will resend shortly",
  failed: "Not sent",
  retry: "Retry",
  loadingOlder: "Loading older messages…",
  scrollForOlder: "Scroll up for older messages",
  noOlder: "No older messages",
  noMessages: "No messages yet. Say hello.",
  historyFailed: "Could not load the history.",
  historyBusy: "The server is busy; the history will load again shortly…",
  newMessages: "New messages ↓",
  dismiss: "Dismiss",
  today: "Today",
  yesterday: "Yesterday",
  errTokenFailed: "Your session has ended. Please log in again.",
  errPeerMissing: "There is no user “{name}”. Check the name.",
  errInvalidMessage: "Message not sent: {reason}",
  errNotStored: "The server could not store this message. Please retry.",
  errTooManyConnections:
    "Chat is open in too many tabs or devices for this account (at most {limit}). Close some and this one connects by itself.",
  errTooManyConnectionsAny:
    "Chat is open in too many tabs or devices for this account. Close some and this one connects by itself.",
  errTooManyAttempts: "Too many attempts. Try again in {seconds} s.",
  errBusy: "The server is busy. Try again in {seconds} s.",
  errLogin: "Wrong username or password.",
  errTaken: "This username is taken. Try another.",
  errNetwork: "Cannot reach the server. Check your connection and retry.",
  errServer: "Something went wrong on the server. Please retry later.",
  errUsernameLength: "A username has 1 to 32 characters.",
  errUsernameChars: "A username may contain only letters, digits and _ - .",
  errPasswordLength: "A password has 8 to 128 characters.",
  errRequired: "Please fill this in.",
  reasonEmpty: "the message is empty",
  reasonTooLong: "the message is too long (at most {max} characters)",
  conversations: "Conversations",
  noConversations: "No conversations yet. Type a username to start one.",
  conversationsFailed: "Could not load the conversations; retrying shortly.",
  unreadCount: "{count} unread",
  youPrefix: "You: ",
  recalledPreview: "[Message recalled]",
  delivered: "Delivered",
  read: "Read",
  typing: "Typing…",
  messageMenu: "More",
  recall: "Recall",
  recalledMine: "You recalled a message",
  recalledTheirs: "{name} recalled a message",
  errRecall: "This message can no longer be recalled (only your own, within 2 minutes).",
  search: "Search",
  searchPlaceholder: "Search this conversation",
  searchClose: "Close search",
  searching: "Searching…",
  searchNone: "No message contains “{text}”.",
  searchCount: "{count} messages found",
  searchMore: "More results",
  searchFailed: "The search failed. Please retry.",
};

/** The languages the page speaks. */
export type Language = "zh" | "en";

/** Chinese when the browser prefers it (or any language but English comes first), else English. */
export function pickLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh";
    if (lower.startsWith("en")) return "en";
  }
  return "zh";
}

/** Both tables, by language. */
export const PAGE_TEXT: Readonly<Record<Language, Readonly<Record<MessageKey, string>>>> = {
  zh: ZH,
  en: EN,
};

/** A translator: the text of `key` with `{name}` placeholders filled in. */
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** The translator of `language`. */
export function translator(language: Language): Translate {
  const table = PAGE_TEXT[language];
  return (key, params = {}) =>
    table[key].replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = params[name];
      return value === undefined ? whole : String(value);
    });
}

/** Whole seconds to tell a person to wait for `ms` milliseconds: rounded up, at least 1. */
export function waitSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
