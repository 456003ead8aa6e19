/**
 * The bad-input corpus: every request content that once made a region answer 5xx, and its
 * neighbours, as data. Each upload case is the JSON text of one batch with one thing wrong
 * (a field × NUL, lone surrogate, wrong type, too long, out of range, too deep, …), sent as is to
 * a region (regional/bad-input.test.ts, signed) and through the edge (test/one-system/bad-input.e2e.test.ts);
 * reads, OTLP and Bugfender cases go where they apply. Every case must get a 4xx with an error
 * code (the edge's adapters may instead answer 200 with every line rejected) and store nothing.
 *
 * Bodies are built as text, not with JSON.stringify of a deep value, so building the corpus never
 * recurses, and numbers such as `1e400` (Infinity once parsed) can be written at all.
 */

export type BodyCase = { name: string; body: string; contentType?: string };
export type ReadCase = { name: string; query: string };

const baseTs = Date.UTC(2026, 2, 1, 12, 0, 0);
const hour = 60 * 60 * 1000;

const nul = "\u0000";
const highSurrogate = "\ud800";
const lowSurrogate = "\udc00";

/** JSON text for a JS string with any code units (JSON.stringify escapes lone surrogates). */
const str = (value: string) => JSON.stringify(value);

/** `depth` arrays nested inside one another, as JSON text. */
export const nestedArrays = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;
/** `depth` objects nested inside one another, as JSON text. */
export const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

let counter = 0;
const freshBatchId = () => `corpus-${Date.now().toString(36)}-${(counter++).toString(36)}`;

type Fields = {
  batchId?: string;
  device?: Record<string, string>;
  logs?: string;
  line?: Record<string, string>;
};

/**
 * One batch as JSON text; every value is already JSON text, so a case can put anything there. By
 * default a valid batch of one line from device `corpus-device`.
 */
function batchText(fields: Fields = {}): string {
  const device = fields.device ?? { id: str("corpus-device") };
  const line = { ts: String(baseTs), level: str("info"), text: str("a corpus line"), ...fields.line };
  const object = (entries: Record<string, string>) =>
    `{${Object.entries(entries)
      .map(([key, value]) => `${str(key)}:${value}`)
      .join(",")}}`;
  const logs = fields.logs ?? `[${object(line)}]`;
  return object({ batchId: fields.batchId ?? str(freshBatchId()), device: object(device), logs });
}

const badStrings: [string, string][] = [
  ["NUL", `a${nul}b`],
  ["only NUL", nul],
  ["lone high surrogate", `a${highSurrogate}b`],
  ["lone low surrogate", `${lowSurrogate}z`],
  ["reversed surrogate pair", `${lowSurrogate}${highSurrogate}`],
];

const deviceFields = ["name", "model", "os", "osVersion", "appVersion", "appBuild", "locale"];
const lineTextFields = ["tag", "method", "file", "text"];

/** Upload bodies that every tier must refuse with a 4xx. Built fresh: each has its own batch id. */
export function badUploads(): BodyCase[] {
  const cases: BodyCase[] = [];
  const add = (name: string, body: string, contentType?: string) => cases.push({ name, body, contentType });

  for (const [defect, value] of badStrings) {
    add(`batchId with ${defect}`, batchText({ batchId: str(`batch-000${value}`) }));
    add(`device.id with ${defect}`, batchText({ device: { id: str(`dev${value}`) } }));
    for (const field of deviceFields) {
      add(`device.${field} with ${defect}`, batchText({ device: { id: str("corpus-device"), [field]: str(value) } }));
    }
    for (const field of lineTextFields)
      add(`logs[0].${field} with ${defect}`, batchText({ line: { [field]: str(value) } }));
    add(`attrs key with ${defect}`, batchText({ line: { attrs: `{${str(`k${value}`)}:1}` } }));
    add(`attrs value with ${defect}`, batchText({ line: { attrs: `{"k":${str(value)}}` } }));
    add(`nested attrs value with ${defect}`, batchText({ line: { attrs: `{"k":{"l":[1,{"m":${str(value)}}]}}` } }));
    add(`nested attrs key with ${defect}`, batchText({ line: { attrs: `{"k":[{${str(value)}:true}]}` } }));
  }

  // Too deep: attrs inside the 4 KiB limit but nested thousands of levels (once a stack overflow).
  add("attrs 2000 arrays deep", batchText({ line: { attrs: `{"deep":${nestedArrays(2000)}}` } }));
  add("attrs 1300 objects deep", batchText({ line: { attrs: `{"deep":${nestedObjects(1300)}}` } }));
  add("attrs one level deeper than allowed", batchText({ line: { attrs: `{"deep":${nestedArrays(16)}}` } }));
  add("a body 100000 arrays deep", nestedArrays(100_000));
  add("a batch whose logs are 50000 arrays deep", batchText({ logs: nestedArrays(50_000) }));

  // Numbers out of range (1e400 parses to Infinity).
  for (const [name, value] of [
    ["1e400", "1e400"],
    ["-1e400", "-1e400"],
    ["1e20", "1e20"],
    ["-1", "-1"],
    ["0", "0"],
    ["year 2100", String(Date.UTC(2100, 0, 1))],
    ["year 1999", String(Date.UTC(1999, 11, 31))],
    ["ISO year 2200", str("2200-01-01T00:00:00Z")],
    ["ISO year 275760", str("+275760-09-13T00:00:00Z")],
    ["not a date", str("yesterday")],
    ["a fraction", "1772366400000.5e400"],
  ]) {
    add(`logs[0].ts ${name}`, batchText({ line: { ts: value as string } }));
  }
  for (const value of ["1e400", "-1", "2147483648", "1.5", str("7")]) {
    add(`logs[0].line ${value}`, batchText({ line: { line: value } }));
  }
  add("attrs number 1e400", batchText({ line: { attrs: `{"n":1e400}` } }));
  add("attrs number -1e400 nested", batchText({ line: { attrs: `{"n":[{"m":-1e400}]}` } }));

  // Span: one batch claiming lines years apart sits in every read window.
  add(
    "lines spanning 2000 to 2099",
    batchText({
      logs: `[{"ts":${Date.UTC(2000, 0, 1)},"level":"info","text":"a"},{"ts":${Date.UTC(2099, 11, 31)},"level":"info","text":"b"}]`,
    }),
  );
  add(
    "lines spanning 25 hours",
    batchText({
      logs: `[{"ts":${baseTs},"level":"info","text":"a"},{"ts":${baseTs + 25 * hour},"level":"info","text":"b"}]`,
    }),
  );

  // Wrong types and shapes.
  add("batchId a number", batchText({ batchId: "12345678" }));
  add("batchId too short", batchText({ batchId: str("short") }));
  add("batchId too long", batchText({ batchId: str("b".repeat(129)) }));
  add("batchId with a slash", batchText({ batchId: str("batch/../../etc") }));
  add("device.id empty", batchText({ device: { id: str("") } }));
  add("device.id too long", batchText({ device: { id: str("d".repeat(129)) } }));
  add("device.id a number", batchText({ device: { id: "42" } }));
  add("device.id null", batchText({ device: { id: "null" } }));
  add("device.id an object", batchText({ device: { id: `{"$ne":null}` } }));
  add("device.model too long", batchText({ device: { id: str("corpus-device"), model: str("m".repeat(257)) } }));
  add("device with an unknown field", batchText({ device: { id: str("corpus-device"), admin: "true" } }));
  add("tag too long", batchText({ line: { tag: str("t".repeat(257)) } }));
  add("level unknown", batchText({ line: { level: str("verbose") } }));
  add("level a number", batchText({ line: { level: "3" } }));
  add("text a number", batchText({ line: { text: "1" } }));
  add("text missing", batchText({ line: { text: "null" } }));
  add("attrs an array", batchText({ line: { attrs: "[1,2]" } }));
  add("attrs a string", batchText({ line: { attrs: str("x") } }));
  add("line with an unknown field", batchText({ line: { extra: "1" } }));
  add("logs empty", batchText({ logs: "[]" }));
  add("logs an object", batchText({ logs: "{}" }));
  add("logs null", batchText({ logs: "null" }));
  add("logs[0] a string", batchText({ logs: `["line"]` }));
  add("__proto__ key", `{"__proto__":{"admin":true},${batchText().slice(1)}`);

  // Oversize (413).
  add("text over 16 KiB", batchText({ line: { text: str("x".repeat(16 * 1024 + 1)) } }));
  add("attrs over 4 KiB", batchText({ line: { attrs: `{"k":${str("v".repeat(4 * 1024))}}` } }));
  add(
    "1001 lines",
    batchText({ logs: `[${Array(1001).fill(`{"ts":${baseTs},"level":"info","text":"x"}`).join(",")}]` }),
  );

  // Not a batch at all, or not JSON.
  for (const [name, body] of [
    ["empty body", ""],
    ["malformed JSON", "{"],
    ["truncated JSON", batchText().slice(0, -3)],
    ["trailing garbage", `${batchText()}}`],
    ["JSON null", "null"],
    ["JSON array", "[]"],
    ["JSON string", str("batch")],
    ["JSON number 1e400", "1e400"],
    ["single quotes", "{'batchId':'x'}"],
    ["a NUL byte outside strings", `{"batchId"${nul}:1}`],
  ]) {
    add(name as string, body as string);
  }
  add("not JSON (text/plain)", batchText(), "text/plain");
  return cases;
}

/** Bodies that are not valid UTF-8 (bytes, not text): each must be a 400, never replaced by U+FFFD. */
export function badUtf8Bodies(): { name: string; body: Uint8Array<ArrayBuffer> }[] {
  const withBytes = (name: string, bytes: number[]) => {
    const text = batchText(); // ASCII: character offsets are byte offsets
    const valid = new TextEncoder().encode(text);
    const at = text.indexOf("corpus line"); // inside the line's text
    const body = new Uint8Array(valid.byteLength + bytes.length);
    body.set(valid.subarray(0, at));
    body.set(bytes, at);
    body.set(valid.subarray(at), at + bytes.length);
    return { name, body };
  };
  return [
    withBytes("a 0xff byte", [0xff]),
    withBytes("a lone continuation byte", [0x80]),
    withBytes("an encoded surrogate (CESU-8 U+D800)", [0xed, 0xa0, 0x80]),
    withBytes("an overlong NUL (C0 80)", [0xc0, 0x80]),
  ];
}

/** Admin calls (signed, region only) whose names no database can store. */
export function badAppUpserts(): BodyCase[] {
  const hash = "0".repeat(64);
  return badStrings.flatMap(([defect, value]) => [
    { name: `app name with ${defect}`, body: `{"name":${str(`app${value}`)},"keys":[]}` },
    {
      name: `key label with ${defect}`,
      body: `{"name":"corpus app","keys":[{"hash":"${hash}","kind":"ingest","label":${str(value)}}]}`,
    },
  ]);
}

/** Region-to-region calls (signed as a peer): ids no database can hold, times no Date can. */
export function badPeerCalls(appId: string): (BodyCase & { path: string })[] {
  const sealed = (fields: string) =>
    `{"from":"us-east","batches":[{"appId":"${appId}","batchId":"batch-0001","origin":"us-east","receivedAt":${baseTs},"keyId":"k1","wrappedKey":"AAAA","ciphertext":"AAAA"${fields}}]}`;
  return [
    {
      name: "sync/fetch with a NUL batch id",
      path: "/internal/v1/sync/fetch",
      body: `{"items":[{"appId":"${appId}","batchId":"b\\u0000"}]}`,
    },
    {
      name: "sync/entries with an hour past the Date range",
      path: "/internal/v1/sync/entries",
      body: `{"buckets":[{"appId":"${appId}","hour":1e12}]}`,
    },
    {
      name: "sync/entries with an hour of 1e400",
      path: "/internal/v1/sync/entries",
      body: `{"buckets":[{"appId":"${appId}","hour":1e400}]}`,
    },
    {
      name: "replicate with receivedAt past the Date range",
      path: "/internal/v1/replicate",
      body: sealed("").replace(`"receivedAt":${baseTs}`, `"receivedAt":1e300`),
    },
    {
      name: "replicate with a NUL key id",
      path: "/internal/v1/replicate",
      body: sealed("").replace(`"keyId":"k1"`, `"keyId":"k\\u0000"`),
    },
  ];
}

/** `GET /v1/logs` query strings (without `?`) that every tier must refuse with a 400. */
export function badReads(): ReadCase[] {
  const encode = encodeURIComponent;
  const cursor = (json: string) => Buffer.from(json).toString("base64url");
  const cases: ReadCase[] = [];
  const add = (name: string, query: string) => cases.push({ name, query });
  // Only NUL: a lone surrogate cannot arrive in a query (its bytes are not UTF-8, so the
  // percent-encoding is kept as text), but the cursor cases below carry one inside their JSON.
  for (const [defect, value] of badStrings.filter(([, text]) => text.includes(nul))) {
    add(`device with ${defect}`, `device=${encode(`dev${value}`)}`);
    add(`q with ${defect}`, `q=${encode(`needle${value}`)}`);
    add(`cursor with ${defect}`, `cursor=${encode(`abc${value}`)}`);
  }
  for (const [name, json] of [
    ["timestamp beyond the Date range", `[9e15,"batch-0001",0]`],
    ["timestamp 1e400", `[1e400,"batch-0001",0]`],
    ["timestamp in 2200", `[${Date.UTC(2200, 0, 1)},"batch-0001",0]`],
    ["timestamp before 2000", `[1000,"batch-0001",0]`],
    ["negative timestamp", `[-1,"batch-0001",0]`],
    ["fractional timestamp", `[${baseTs}.5,"batch-0001",0]`],
    ["batch id with NUL", `[${baseTs},"batch-0001\\u0000",0]`],
    ["batch id with a lone surrogate", `[${baseTs},"batch-\\ud800",0]`],
    ["batch id not a batch id", `[${baseTs},"a b/c",0]`],
    ["batch id too long", `[${baseTs},"${"b".repeat(200)}",0]`],
    ["index below -1", `[${baseTs},"batch-0001",-2]`],
    ["index past a batch", `[${baseTs},"batch-0001",5000]`],
    ["index 1e400", `[${baseTs},"batch-0001",1e400]`],
    ["not an array", `{"ts":${baseTs}}`],
    ["too few fields", `[${baseTs}]`],
    ["too many fields", `[${baseTs},"batch-0001",0,1]`],
    ["nested deep", nestedArrays(300)],
    ["not JSON", "not json"],
  ]) {
    add(`cursor: ${name}`, `cursor=${cursor(json as string)}`);
  }
  add("cursor not base64", "cursor=%25%25%25");
  add("cursor too long", `cursor=${"A".repeat(600)}`);
  for (const [name, query] of [
    ["from 1e400", "from=1e400"],
    ["from in year 275760", `from=${encode("+275760-09-13T00:00:00Z")}`],
    ["to beyond the Date range", "to=99999999999999999"],
    ["from not a date", "from=yesterday"],
    ["limit 0", "limit=0"],
    ["limit 1e400", "limit=1e400"],
    ["limit negative", "limit=-5"],
    ["limit past the maximum", "limit=1001"],
    ["limit not a number", "limit=ten"],
    ["level unknown", "level=verbose"],
    ["an unknown parameter", "select=*"],
    ["device empty", "device="],
    ["device too long", `device=${"d".repeat(129)}`],
    ["q too long", `q=${"q".repeat(257)}`],
    ["order unknown", "order=random"],
    ["levels unknown", "levels=error,verbose"],
    ["levels empty", "levels=,,"],
    ["levels too long", `levels=${"error,".repeat(20)}`],
    ["tag with NUL", `tag=${encode("a\u0000")}`],
    ["tag too long", `tag=${"t".repeat(257)}`],
    ["around without an index", "around=batch-0001"],
    ["around with a huge index", "around=batch-0001:1e400"],
    ["around with an index past a batch", "around=batch-0001:1000"],
    ["around with a negative index", "around=batch-0001:-1"],
    ["around with a NUL", `around=${encode("batch\u0000001:1")}`],
    ["around with a bad batch id", "around=a%20b:1"],
    ["around and cursor together", `around=batch-0001:1&cursor=${cursor(`[${baseTs},"",-1]`)}`],
    ["cursor with a direction not desc", `cursor=${cursor(`[${baseTs},"",-1,"up"]`)}`],
  ]) {
    add(name as string, query as string);
  }
  return cases;
}

/** `POST /v1/logs` (OTLP/HTTP JSON) bodies the edge must refuse without any region failing. */
export function badOtlp(): BodyCase[] {
  const record = (fields = "") =>
    `{"timeUnixNano":"${baseTs}000000","severityNumber":9,"body":{"stringValue":"x"}${fields}}`;
  const request = (attributes: string, records: string[]) =>
    `{"resourceLogs":[{"resource":{"attributes":${attributes}},"scopeLogs":[{"scope":{"name":"corpus"},"logRecords":[${records.join(",")}]}]}]}`;
  const deviceAttr = (value: string) => `[{"key":"device.id","value":{"stringValue":${str(value)}}}]`;
  const nestedAnyValue = (depth: number) =>
    `${'{"arrayValue":{"values":['.repeat(depth)}{"intValue":"1"}${"]}}".repeat(depth)}`;
  const cases: BodyCase[] = [];
  const add = (name: string, body: string) => cases.push({ name, body });
  for (const [defect, value] of badStrings) {
    add(`device.id with ${defect}`, request(deviceAttr(`otel${value}`), [record()]));
    add(
      `service.version with ${defect}`,
      request(
        `[{"key":"device.id","value":{"stringValue":"corpus-otel"}},{"key":"service.version","value":{"stringValue":${str(value)}}}]`,
        [record()],
      ),
    );
  }
  add(
    "body AnyValue 3000 deep",
    request(deviceAttr("corpus-otel"), [record().replace(`{"stringValue":"x"}`, nestedAnyValue(3000))]),
  );
  add(
    "attribute AnyValue 3000 deep",
    request(deviceAttr("corpus-otel"), [record(`,"attributes":[{"key":"k","value":${nestedAnyValue(3000)}}]`)]),
  );
  add(
    "resource attribute AnyValue 3000 deep",
    request(`[{"key":"device.id","value":${nestedAnyValue(3000)}}]`, [record()]),
  );
  add(
    "body AnyValue one level deeper than allowed",
    request(deviceAttr("corpus-otel"), [record().replace(`{"stringValue":"x"}`, nestedAnyValue(17))]),
  );
  add("timeUnixNano 1e400", request(deviceAttr("corpus-otel"), [record().replace(`"${baseTs}000000"`, "1e400")]));
  add(
    "severityNumber 1e400",
    request(deviceAttr("corpus-otel"), [record().replace(`"severityNumber":9`, `"severityNumber":1e400`)]),
  );
  add("resourceLogs not an array", `{"resourceLogs":{}}`);
  add("malformed JSON", `{"resourceLogs":[`);
  add("a body 100000 arrays deep", nestedArrays(100_000));
  // Fan-out: one small request that would become hundreds of batches (one per resource).
  const resources = Array.from(
    { length: 200 },
    (_, i) => `{"resource":{"attributes":${deviceAttr(`corpus-fan-${i}`)}},"scopeLogs":[{"logRecords":[${record()}]}]}`,
  );
  add("200 resources in one request", `{"resourceLogs":[${resources.join(",")}]}`);
  const manyRecords = Array(5001).fill(`{"timeUnixNano":"${baseTs}000000","body":{"stringValue":"x"}}`);
  add("5001 records in one request", request(deviceAttr("corpus-otel-many"), manyRecords));
  return cases;
}

/** Bugfender `POST /session` bodies with a device no region can store. */
export function badBugfenderSessions(): BodyCase[] {
  const session = (udid: string, extra = "") => `{"device":{"udid":${str(udid)}${extra}}}`;
  const cases: BodyCase[] = [];
  for (const [defect, value] of badStrings) {
    cases.push({ name: `udid with ${defect}`, body: session(`udid${value}`) });
    cases.push({ name: `device_type with ${defect}`, body: session("corpus-bf", `,"device_type":${str(value)}`) });
  }
  cases.push({ name: "udid empty", body: session("") });
  cases.push({ name: "udid a number", body: `{"device":{"udid":42}}` });
  cases.push({ name: "name 3000 arrays deep", body: `{"device":{"udid":"corpus-bf","name":${nestedArrays(3000)}}}` });
  return cases;
}

/**
 * Bugfender `POST /log/batch` bodies for a valid session (`sessionId`): lines no region can store,
 * too deep, too many, or spread so that one request would become many batches.
 */
export function badBugfenderLogs(sessionId: string): BodyCase[] {
  const entry = (fields = "") => `{"at":${baseTs},"ll":4,"t":"corpus line"${fields}}`;
  const body = (entries: string[]) => `{"session_id":${str(sessionId)},"logs":[${entries.join(",")}]}`;
  const cases: BodyCase[] = [];
  for (const [defect, value] of badStrings) {
    for (const field of ["t", "tg", "m", "f", "u"]) {
      cases.push({ name: `${field} with ${defect}`, body: body([entry(`,${str(field)}:${str(value)}`)]) });
    }
  }
  cases.push({
    name: "t 3000 arrays deep",
    body: body([entry().replace(`"t":"corpus line"`, `"t":${nestedArrays(3000)}`)]),
  });
  cases.push({ name: "at 1e400", body: body([entry().replace(`"at":${baseTs}`, `"at":1e400`)]) });
  cases.push({ name: "l 1e400", body: body([entry(`,"l":1e400`)]) });
  cases.push({ name: "5001 lines in one request", body: body(Array(5001).fill(entry())) });
  // Lines a day apart: split by span, this one request would be 30 batches.
  const days = Array.from({ length: 30 }, (_, i) =>
    entry().replace(`"at":${baseTs}`, `"at":${baseTs + i * 25 * hour}`),
  );
  cases.push({ name: "lines over 30 days in one request", body: body(days) });
  return cases;
}
