/**
 * Several regions in one test process, each on its own migrated database and its own real HTTP
 * ports (the main one and the admin one), configured as each other's peers: replication runs
 * over real signed HTTP. A node can be
 * taken off the network (its listener closed, so peers get connection refused) and brought back
 * on the same port; what each node received on `/replicate` is counted, to check loops and
 * double sends. Background loops are not started: tests run each replication step themselves.
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { internalPaths, type Region as PeerRegion } from "../../shared/regions.ts";
import { replicateRequestSchema } from "../../shared/replication.ts";
import { type ReplicationConfig, replicationDefaults } from "../config.ts";
import type { DatabaseKind } from "../db/client.ts";
import type { Region, RegionOverrides } from "../region.ts";
import { createTestDatabase, startTestRegion, type TestDatabase, testKeyring } from "./harness.ts";

export type TestNode = {
  name: string;
  url: string;
  /** The admin listener, where the admin CLI (`verify`) calls. */
  adminUrl: string;
  region: Region;
  database: TestDatabase;
  /** Batches received on /replicate, by sender. */
  replicated: { from: string; batchId: string }[];
  /** Calls received on /replicate, each the batch ids it carried. */
  replicateCalls: string[][];
  down(): Promise<void>;
  up(): Promise<void>;
};

export type TestCluster = {
  nodes: TestNode[];
  node(name: string): TestNode;
  /** Another process of a node's region on the same database (PostgreSQL), not served. */
  sibling(name: string): Promise<Region>;
  close(): Promise<void>;
};

export async function startTestCluster(
  kind: DatabaseKind,
  names: string[] = ["a", "b", "c"],
  replication: Partial<ReplicationConfig> = {},
  deps: RegionOverrides = {},
): Promise<TestCluster> {
  const keyring = testKeyring();
  const listeners = await Promise.all(names.map(() => listen()));
  const adminListeners = await Promise.all(names.map(() => listen()));
  const peersOf = (name: string): PeerRegion[] =>
    names.flatMap((other, index) =>
      other === name ? [] : [{ name: other, url: `http://127.0.0.1:${listeners[index]?.port}` }],
    );
  const configOf = (name: string) => ({
    region: name,
    keyring,
    replication: {
      ...replicationDefaults,
      peerTimeoutMs: 2000,
      quorumTimeoutMs: 1000,
      ...replication,
      peers: peersOf(name),
    },
  });
  const nodes: TestNode[] = [];
  const siblings: Region[] = [];
  for (const [index, name] of names.entries()) {
    const listener = listeners[index] as Listener;
    const adminListener = adminListeners[index] as Listener;
    const database = await createTestDatabase(kind);
    const region = await startTestRegion(database, configOf(name), deps);
    adminListener.handle = async (request) => region.adminApp.fetch(request);
    const replicated: TestNode["replicated"] = [];
    const replicateCalls: TestNode["replicateCalls"] = [];
    listener.handle = async (request) => {
      if (new URL(request.url).pathname === internalPaths.replicate) {
        const body = replicateRequestSchema.safeParse(
          await request
            .clone()
            .json()
            .catch(() => null),
        );
        if (body.success) {
          for (const batch of body.data.batches) replicated.push({ from: body.data.from, batchId: batch.batchId });
          replicateCalls.push(body.data.batches.map((batch) => batch.batchId));
        }
      }
      return region.app.fetch(request);
    };
    nodes.push({
      name,
      url: `http://127.0.0.1:${listener.port}`,
      adminUrl: `http://127.0.0.1:${adminListener.port}`,
      region,
      database,
      replicated,
      replicateCalls,
      down: () => listener.close(),
      up: () => listener.reopen(),
    });
  }
  return {
    nodes,
    node(name) {
      const node = nodes.find((candidate) => candidate.name === name);
      if (!node) throw new Error(`no node ${name}`);
      return node;
    },
    async sibling(name) {
      const node = nodes.find((candidate) => candidate.name === name);
      if (!node) throw new Error(`no node ${name}`);
      const region = await startTestRegion(node.database, configOf(name), deps);
      siblings.push(region);
      return region;
    },
    async close() {
      for (const sibling of siblings) await sibling.close();
      for (const [index, node] of nodes.entries()) {
        await listeners[index]?.close();
        await adminListeners[index]?.close();
        await node.region.close();
        await node.database.drop();
      }
    },
  };
}

type Listener = {
  port: number;
  handle: (request: Request) => Promise<Response>;
  close(): Promise<void>;
  reopen(): Promise<void>;
};

async function listen(): Promise<Listener> {
  const listener: Listener = {
    port: 0,
    handle: async () => new Response("starting", { status: 503 }),
    close: async () => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    reopen: () => new Promise<void>((resolve) => server.listen(listener.port, "127.0.0.1", () => resolve())),
  };
  const server = createAdaptorServer({ fetch: (request: Request) => listener.handle(request) }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  listener.port = (server.address() as AddressInfo).port;
  return listener;
}
