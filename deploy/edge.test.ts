/**
 * The edge's deployed environments in wrangler.toml: `npm run deploy:edge -- --env <name>` must
 * bundle and bind for staging and production (`--dry-run`: no account needed), each with its
 * own Durable Object binding, spool queues and bucket, and route to its own regions: the same
 * URLs the Kubernetes manifests of that environment serve.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { regionsSchema } from "../shared/regions.ts";
import { environments } from "./k8s/environments.ts";

const run = promisify(execFile);

/** The part of wrangler's resolved configuration this test reads. */
type EdgeConfig = {
  name: string;
  vars: Record<string, unknown>;
  queues: { producers?: { binding: string; queue: string }[]; consumers?: { dead_letter_queue?: string }[] };
  r2_buckets: { bucket_name?: string }[];
  durable_objects: { bindings: { name: string }[] };
};
const repoRoot = path.resolve(import.meta.dirname, "..");
const outDir = mkdtempSync(path.join(tmpdir(), "stormlog-edge-dry-"));
const deployed = ["staging", "production"] as const;

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("edge environments", () => {
  it.each(deployed)("%s: wrangler deploy --dry-run succeeds with the environment's own bindings", async (name) => {
    const { stdout } = await run(
      "npm",
      ["run", "--silent", "deploy:edge", "--", "--dry-run", "--env", name, "--outdir", path.join(outDir, name)],
      { cwd: repoRoot, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, timeout: 60_000 },
    );
    expect(stdout).toContain("--dry-run: exiting now.");
    expect(stdout).toContain(`stormlog-spool-${name}`);
    expect(stdout).toMatch(/REGION_HEALTH \(RegionHealth\)\s+Durable Object/);
  });

  it("gives every environment its own worker, queues, bucket and regions", () => {
    const seen = new Set<string>();
    for (const name of deployed) {
      const config = unstable_readConfig({ config: path.join(repoRoot, "wrangler.toml"), env: name }) as EdgeConfig;
      // A set: the dead-letter queue is both the consumer's and a producer (the consumer writes to it).
      const resources = new Set([
        `worker ${config.name}`,
        ...(config.queues.producers ?? []).map((queue) => `queue ${queue.queue}`),
        ...(config.queues.consumers ?? []).map((queue) => `queue ${queue.dead_letter_queue ?? ""}`),
        ...config.r2_buckets.map((bucket) => `bucket ${bucket.bucket_name ?? ""}`),
      ]);
      for (const resource of resources) {
        expect(resource).toContain(name);
        expect(seen.has(resource), `${resource} shared between environments`).toBe(false);
        seen.add(resource);
      }
      expect(config.durable_objects.bindings.map((binding) => binding.name)).toEqual([
        "REGION_HEALTH",
        "CONSOLE_SESSIONS",
      ]);
      expect((config.queues.producers ?? []).map((queue) => queue.binding)).toEqual(["SPOOL", "SPOOL_DEAD"]);
      const regions = regionsSchema.parse(JSON.parse(String(config.vars.REGIONS)));
      const cluster = environments.find((environment) => environment.name === name);
      // The edge reaches each region at its public URL (the peers use another, on the private network).
      const publicUrls = cluster?.regions.map(({ name, url }) => ({ name, url }));
      expect(regions.map((region) => ({ name: region.name, url: region.url }))).toEqual(publicUrls);
    }
  });
});
