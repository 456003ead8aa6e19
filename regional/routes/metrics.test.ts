import { describe, expect, it } from "vitest";
import { internalPaths } from "../../shared/regions.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("GET /metrics on %s", (kind) => {
  const t = useTestRegion(kind);

  it("serves Prometheus text on the admin listener only, counting uploads and reads", async () => {
    const appId = testAppId();
    const batch = makeBatch({
      lines: [
        { ts: baseTs, text: "one" },
        { ts: baseTs + 1, text: "two" },
      ],
    });
    const upload = await signedRequest(t.region.app, "POST", internalPaths.batches(appId), { json: batch });
    expect(upload.status).toBe(202);
    const read = await signedRequest(t.region.app, "GET", internalPaths.logs(appId), {
      appKey: await readKeyFor(t.region, appId),
    });
    expect(read.status).toBe(200);

    const res = await t.region.adminApp.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^stormlog_lines_accepted_total\{region="eu-west"\} 2$/m);
    expect(text).toMatch(/^stormlog_ack_seconds_count\{region="eu-west",outcome="acknowledged"\} 1$/m);
    expect(text).toMatch(
      /^stormlog_read_seconds_count\{region="eu-west",route="\/internal\/v1\/apps\/:appId\/logs"\} 1$/m,
    );
    // The test region has no peers: the replication series exist, with no peer to label.
    expect(text).toContain("# TYPE stormlog_replication_backlog_batches gauge");

    expect((await t.region.app.request("/metrics")).status).toBe(404);
  });
});
