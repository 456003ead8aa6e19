/**
 * The bad-input corpus for the console's reads past `GET /v1/logs` (whose cases are in
 * bad-input.ts): device search, the volume histogram and the live tail. Every tier must refuse
 * each with a 400 naming the parameter.
 */
import { baseTs } from "../regional/testing/fixtures.ts";
import type { ReadCase } from "./bad-input.ts";

/** Queries of the console's other reads that every tier must refuse with a 400. */
export function badConsoleReads(): (ReadCase & { resource: "devices" | "volume" | "tail" })[] {
  const encode = encodeURIComponent;
  const b64 = (json: string) => Buffer.from(json).toString("base64url");
  const cases: (ReadCase & { resource: "devices" | "volume" | "tail" })[] = [];
  const add = (resource: "devices" | "volume" | "tail", name: string, query: string) =>
    cases.push({ resource, name: `${resource}: ${name}`, query });
  for (const [name, query] of [
    ["q with NUL", `q=${encode("a\u0000")}`],
    ["q too long", `q=${"q".repeat(257)}`],
    ["limit 1e400", "limit=1e400"],
    ["limit past the maximum", "limit=501"],
    ["cursor forged", `cursor=${b64('["dev",1,"x"]')}`],
    ["cursor with NUL id", `cursor=${b64(`["dev",${baseTs},"a\u0000"]`)}`],
    ["a log cursor", `cursor=${b64(`[${baseTs},"",-1]`)}`],
    ["an unknown parameter", "sort=name"],
  ]) {
    add("devices", name as string, query as string);
  }
  for (const [name, query] of [
    ["from after to", `from=${baseTs + 1}&to=${baseTs}`],
    ["from 1e400", "from=1e400"],
    ["to not a date", "to=soon"],
    ["a window of a century", `from=${Date.UTC(2000, 0, 1)}&to=${Date.UTC(2099, 0, 1)}`],
    ["buckets 0", "buckets=0"],
    ["buckets 1e400", "buckets=1e400"],
    ["buckets past the maximum", "buckets=501"],
    ["device with NUL", `device=${encode("d\u0000")}`],
    ["an unknown parameter", "level=warn"],
  ]) {
    add("volume", name as string, query as string);
  }
  for (const [name, query] of [
    ["after not a cursor", "after=nope"],
    ["after a log cursor", `after=${b64(`[${baseTs},"",-1]`)}`],
    ["after with a txid past a bigint", `after=${b64(`["tail","eu-west","99999999999999999999","",-1,${baseTs}]`)}`],
    ["after with a bad region", `after=${b64(`["tail","EU WEST","1","",-1,${baseTs}]`)}`],
    ["after with NUL", `after=${encode("a\u0000")}`],
    ["levels unknown", "levels=loud"],
    ["limit 0", "limit=0"],
    ["an unknown parameter", "cursor=abc"],
  ]) {
    add("tail", name as string, query as string);
  }
  return cases;
}
