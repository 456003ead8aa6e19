/**
 * A stand-in for the regions, for the benchmarks' edge alone: `node bench/stand-in-region.ts
 * eu-west=9801 us-east=9802 …` listens on one port per region name and answers at once what the
 * edge asks a region on the upload path: healthy on `/v1/health`, no revoked keys, and to an
 * upload a 202 with a receipt the edge accepts (shared/read.ts `batchReceiptSchema`, as if the
 * ack quorum held it). The edge checks no signature on a region's answer, only its shape. The
 * ingest bench runs it as its own process so that its CPU is not the load generator's;
 * bench:edge serves `standInRegion` in its own.
 */
import { createServer, type RequestListener } from "node:http";
import { batchReceiptSchema } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";

/** Answers as region `name` of `names` would on the upload path. */
export function standInRegion(name: string, names: readonly string[]): RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.url === "/v1/health") {
        return json(200, {
          region: name,
          status: "up",
          database: { kind: "pglite", ok: true },
          inFlight: 0,
          ackQuorum: 2,
          peers: [],
        });
      }
      if (req.url === internalPaths.revokedKeys) return json(200, { keyHashes: [] });
      if (req.method !== "POST") return json(404, { error: { code: "NOT_FOUND", message: "stand-in", requestId: "" } });
      const batch = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { batchId: string; logs: unknown[] };
      json(
        202,
        batchReceiptSchema.parse({
          batchId: batch.batchId,
          region: name,
          regions: [name, ...names.filter((other) => other !== name).slice(0, 1)],
          accepted: batch.logs.length,
          duplicate: false,
        }),
      );
    });
  };
}

if (import.meta.main) {
  const regions = process.argv.slice(2).map((argument) => {
    const [name, port] = argument.split("=");
    if (!name || !port) throw new Error(`expected <region>=<port>, got ${argument}`);
    return { name, port: Number(port) };
  });
  const names = regions.map((region) => region.name);
  for (const region of regions) {
    createServer(standInRegion(region.name, names)).listen(region.port, "127.0.0.1", () =>
      console.log(`listening ${region.name} ${region.port}`),
    );
  }
}
