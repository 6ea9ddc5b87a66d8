import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";
import { hubContract } from "./hub_contract.ts";

hubContract("MemoryHub", (onUserPresence) => {
  const hub = new MemoryHub({ onUserPresence });
  return Promise.resolve({
    hub,
    cleanup: () => hub.close(DISCONNECT.GOING_AWAY),
  });
});
