/**
 * Vitest global setup for test/one-system/: starts three regions and the edge once (test/harness.ts)
 * and provides where they are; each file joins with `joinSystem` (system.ts), which gives it an app
 * of its own. Stopped once every file has run.
 */
import type { TestProject } from "vitest/node";
import { startTestSystem } from "../harness.ts";
import type { SharedSystem } from "./system.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t = await startTestSystem();
  const shared: SharedSystem = {
    edgeUrl: t.system.info.edgeUrl,
    regions: t.system.info.regions,
    cluster: t.system.adminCluster(),
  };
  project.provide("system", shared);
  return async () => {
    await t.system.stop();
  };
}
