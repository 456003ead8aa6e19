/**
 * Vitest global setup for the edge project, run in Node before workerd starts: starts the
 * stand-in regions (region-stub.ts) and provides their URLs, which vitest.config.ts turns into
 * the Worker's REGIONS binding and tests read with `inject("stubs")`.
 */
import type { TestProject } from "vitest/node";
import { keyHash, mintKey, newAppId } from "../../shared/keys.ts";
import { testEdgeSecret, testKeySecret } from "./fixtures.ts";
import { refusedUrl, type StubWorld, startStub } from "./region-stub.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const revokedKey = await mintKey(testKeySecret, newAppId(), "ingest");
  const world: StubWorld = {
    received: [],
    revokedKeyHashes: new Set([await keyHash(revokedKey)]),
    edgeSecret: testEdgeSecret,
    keySecret: testKeySecret,
    spawned: [],
  };
  const running = await Promise.all([
    startStub(world, "eu-west", "region"),
    startStub(world, "us-east", "region"),
    startStub(world, "silent", "silent"),
    startStub(world, "broken", "broken"),
  ]);
  const [eu, us, silent, broken] = running.map((stub) => stub.url) as [string, string, string, string];
  project.provide("stubs", { eu, us, silent, broken, refused: await refusedUrl() });
  project.provide("revokedKey", revokedKey);
  return async () => {
    await Promise.all([...running, ...world.spawned].map((stub) => stub.close()));
  };
}
