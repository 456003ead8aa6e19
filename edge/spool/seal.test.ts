// Nothing readable in the Queue or R2: a spooled batch is sealed (AES-256-GCM under SPOOL_SECRET,
// bound to its app, batch and key hash) before it is sent or stored, and opened by the consumer.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createEdgeApp } from "../app.ts";
import { testSpoolSecret } from "../testing/fixtures.ts";
import {
  deliverSpooled,
  newApp,
  received,
  recordingQueue,
  sampleUpload,
  setMode,
  spawnRegion,
  unrevokedServices,
  uploadWith,
} from "../testing/helpers.ts";
import { createQueueHandler } from "./consumer.ts";
import { openSpooled, sealSpooled } from "./seal.ts";
import type { SpoolMessage } from "./spool.ts";

const services = unrevokedServices({ cooldownMs: 0, healthCacheMs: 0 });
const app = createEdgeApp(services);
const queue = createQueueHandler(services);

describe("sealed spool", () => {
  it("keeps a line out of the queue message and the R2 object, and the consumer still delivers it", async () => {
    const region = await spawnRegion("sealed");
    await setMode(region, "draining");
    const keys = await newApp();
    const marker = `card-4111-${crypto.randomUUID()}`;
    const small = sampleUpload(2);
    const large = sampleUpload(14);
    for (const line of large.logs) line.text = line.text.padEnd(8000, "x");
    for (const batch of [small, large]) (batch.logs[1] as { text: string }).text += ` ${marker}`;

    const spool = recordingQueue();
    for (const batch of [small, large]) {
      const response = await uploadWith(app, keys.ingest, batch, { regions: [region], env: { SPOOL: spool.producer } });
      expect(response.status).toBe(202);
    }
    const [inline, viaBlob] = spool.sent as [SpoolMessage, SpoolMessage];
    expect(inline.sealed).toBeDefined();
    expect(viaBlob.blobKey).toBeDefined();
    for (const message of spool.sent) {
      expect(JSON.stringify(message)).not.toContain(marker);
      expect(JSON.stringify(message)).not.toContain("device-1");
    }
    const object = await env.SPOOL_BLOBS.get(viaBlob.blobKey as string);
    const raw = new TextDecoder().decode(await object?.arrayBuffer());
    expect(raw.length).toBeGreaterThan(100_000);
    expect(raw).not.toContain(marker);
    expect(raw).not.toContain("x".repeat(64));

    await setMode(region, "region");
    for (const message of spool.sent) {
      expect(await deliverSpooled(queue, [region], message, 1)).toEqual({ acked: true, retried: false });
    }
    for (const batch of [small, large]) {
      const delivered = (await received(batch.batchId)).filter((call) => call.stub === region.name).at(-1);
      expect(delivered?.body).toContain(marker);
    }
  });

  it("opens only with the same secret, app, batch and key hash", async () => {
    const context = { appId: "app-1", batchId: "batch-0001", keyHash: "a".repeat(64) };
    const sealed = await sealSpooled(testSpoolSecret, context, '{"text":"hello"}');
    expect(await openSpooled(testSpoolSecret, context, sealed)).toBe('{"text":"hello"}');
    expect(await openSpooled("another-spool-secret-0123456789abcdef", context, sealed)).toBeNull();
    for (const other of [{ appId: "app-2" }, { batchId: "batch-0002" }, { keyHash: "b".repeat(64) }]) {
      expect(await openSpooled(testSpoolSecret, { ...context, ...other }, sealed)).toBeNull();
    }
    // A fresh nonce each time: the same batch never seals to the same bytes.
    expect(await sealSpooled(testSpoolSecret, context, '{"text":"hello"}')).not.toEqual(sealed);
  });
});
