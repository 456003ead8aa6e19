// What the peer client reports when a peer's reachability changes: the log lines an operator
// reads to learn that a peer went away or came back, once per change and not at every call.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createPeerClient, type PeerChange } from "./peers.ts";

describe("peer reachability changes", () => {
  let server: Server;
  let readyStatus = 200;
  let url = "";
  beforeAll(async () => {
    server = createServer((_request, response) => response.writeHead(readyStatus).end());
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((closed) => server.close(closed));
  });

  const timeoutMs = 1000;
  function client(peerUrl: string) {
    let nowMs = 1_000_000;
    const changes: PeerChange[] = [];
    const peer = { name: "eu-west", url: peerUrl };
    const peers = createPeerClient({
      peers: [peer],
      peerSecret: "s".repeat(32),
      timeoutMs,
      clock: { now: () => nowMs },
      onChange: (change) => changes.push(change),
    });
    return {
      changes,
      probe: () => peers.probe(peer),
      // A signed call to the same server: its status as the region's, and a 200's empty body still
      // means the peer answered (peers.ts counts a malformed answer as reachable).
      call: () => peers.call(peer, "GET", "/internal/v1/anything", z.unknown()),
      takeReturned: (awayMs: number) => peers.takeReturned(awayMs),
      advance: (ms: number) => {
        nowMs += ms;
      },
    };
  }

  it("reports a peer that answers, stops, and answers again, once per change", async () => {
    const peer = client(url);
    await peer.probe();
    await peer.probe();
    expect(peer.changes).toEqual([{ name: "eu-west", reachable: true, awayMs: null }]);

    readyStatus = 503;
    peer.advance(10);
    await peer.probe();
    peer.advance(4000);
    await peer.probe();
    expect(peer.changes.slice(1)).toEqual([{ name: "eu-west", reachable: false, reason: "readyz answered 503" }]);

    readyStatus = 200;
    await peer.probe();
    expect(peer.changes.slice(2)).toEqual([{ name: "eu-west", reachable: true, awayMs: 4000 }]);
  });

  it("takes a peer as returned after an absence its readiness probe saw, however short, not after a shed call", async () => {
    readyStatus = 200;
    const peer = client(url);
    await peer.probe();
    // Never answered before: returned, whatever the bound.
    expect(peer.takeReturned(60_000)).toEqual(["eu-west"]);

    // A call shed (503) and the next one answered: a busy peer, not back from anywhere.
    readyStatus = 503;
    await peer.call();
    peer.advance(100);
    readyStatus = 200;
    await peer.call();
    expect(peer.takeReturned(60_000)).toEqual([]);
    expect(peer.changes.at(-1)).toEqual({ name: "eu-west", reachable: true, awayMs: 100 });

    // Away as briefly, but its readiness probe failed meanwhile: it was down, draining or restarting.
    readyStatus = 503;
    await peer.call();
    await peer.probe();
    peer.advance(100);
    readyStatus = 200;
    await peer.call();
    expect(peer.takeReturned(60_000)).toEqual(["eu-west"]);
    expect(peer.takeReturned(60_000)).toEqual([]);

    // Away longer than the bound without a probe: returned as before.
    readyStatus = 503;
    await peer.call();
    peer.advance(60_000);
    readyStatus = 200;
    await peer.call();
    expect(peer.takeReturned(60_000)).toEqual(["eu-west"]);
  });

  it("reports a peer's first answer as such, even after failed probes", async () => {
    readyStatus = 503;
    const peer = client(url);
    await peer.probe();
    peer.advance(500);
    readyStatus = 200;
    await peer.probe();
    expect(peer.changes).toEqual([{ name: "eu-west", reachable: true, awayMs: null }]);
  });

  it("reports a peer that has not answered since start only after two call timeouts, and once", async () => {
    // A port nothing listens on: the connection is refused.
    const closed = createServer();
    await new Promise<void>((listening) => closed.listen(0, "127.0.0.1", listening));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));

    const peer = client(`http://127.0.0.1:${port}`);
    await peer.probe();
    peer.advance(2 * timeoutMs - 1);
    await peer.probe();
    expect(peer.changes).toEqual([]);
    peer.advance(1);
    await peer.probe();
    await peer.probe();
    expect(peer.changes).toEqual([{ name: "eu-west", reachable: false, reason: expect.any(String) }]);
    expect((peer.changes[0] as { reason: string }).reason).toMatch(/ECONNREFUSED|refused|connect/i);
  });
});
