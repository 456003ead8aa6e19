/**
 * What the files in test/one-system/ share: one running system (global-setup.ts), where each file
 * works in an app of its own, so no file reads another's logs, devices or keys.
 */
import { inject } from "vitest";
import { type Cluster, provisionApp } from "../../regional/admin/cluster.ts";
import type { LocalInfo } from "../../scripts/local-system.ts";

/** Where the shared system is; handed from global-setup.ts to the files with provide/inject. */
export type SharedSystem = {
  edgeUrl: string;
  regions: LocalInfo["regions"];
  /** The cluster as the admin CLI reaches it: admin listeners, key and admin secrets. */
  cluster: Cluster;
};

export type JoinedSystem = SharedSystem & { app: LocalInfo["app"] };

declare module "vitest" {
  export interface ProvidedContext {
    system: SharedSystem;
  }
}

/**
 * The shared system and a new app in it, provisioned in every region as the admin CLI does.
 * @example const system = await joinSystem("otlp"); fetch(`${system.edgeUrl}/v1/logs`, ...)
 */
export async function joinSystem(appName: string): Promise<JoinedSystem> {
  const shared = inject("system");
  const app = await provisionApp(shared.cluster, appName);
  const failed = app.outcomes.filter((outcome) => !outcome.ok);
  if (failed.length > 0) throw new Error(`could not provision app ${appName}: ${JSON.stringify(failed)}`);
  return { ...shared, app: { id: app.id, ingestKey: app.ingestKey, readKey: app.readKey, manageKey: app.manageKey } };
}
