/** What the hub contract suites share: the users they connect and how a suite opens its hubs. */
import type { Hub, UserPresenceListener } from "../../lib/hub/hub.ts";
import type { UserRef } from "../../lib/storage/repository.ts";

export const TOM: UserRef = { id: 1, username: "Tom" };
export const JACK: UserRef = { id: 2, username: "Jack" };
export const ALICE: UserRef = { id: 3, username: "Alice" };

/** Makes a fresh, empty hub for one case. */
export type OpenHub = (
  onUserPresence?: UserPresenceListener,
) => Promise<{ hub: Hub; cleanup: () => Promise<void> }>;

/** Makes two hubs of one fresh cluster, for the cases across nodes. */
export type OpenCluster = (
  onUserPresence?: UserPresenceListener,
) => Promise<{ hubs: [Hub, Hub]; cleanup: () => Promise<void> }>;
