import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { CLOSE_CODE } from "../../lib/protocol/status.ts";
import { hubContract } from "./hub_contract.ts";

hubContract("MemoryHub", () => {
  const hub = new MemoryHub();
  return Promise.resolve({
    hub,
    cleanup: () => hub.close(CLOSE_CODE.GOING_AWAY, "Test over"),
  });
});
