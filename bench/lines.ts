/**
 * Realistic uploads for the ingest bench: lines as a mobile app logs them, with ids (UUIDs, user
 * and order ids), numbers, durations, URLs and, now and then, a multi-line stack trace, so the
 * batches compress about as well as real logs do (about 5× with zstd, not the 30× of a few words
 * repeated). Lines come from a seeded generator, so every run sends the same text.
 *
 * Building JSON for every request would make the load generator the bottleneck, so each batch
 * size has a pool of serialized line arrays, and a body is a fresh batch id, a device and one of
 * them spliced together.
 */
import { zstdCompressSync } from "node:zlib";

const poolSize = 48;
const deviceCount = 200;

/** Mulberry32: a small seeded generator, so the text is the same from run to run. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T;
  const hex = (length: number) => Array.from({ length }, () => "0123456789abcdef"[int(0, 15)]).join("");
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
  return { next, int, pick, hex, uuid };
}

type Random = ReturnType<typeof generator>;

const tags = ["Network", "CheckoutFlow", "Auth", "ImageCache", "Sync", "Database", "Push", "Analytics", "Player"];
const screens = ["home", "search", "product_detail", "cart", "checkout", "order_history", "settings", "profile"];
const hosts = ["api.shopfront.example", "cdn.shopfront.example", "auth.shopfront.example"];
const frames = [
  "com.shopfront.app.checkout.CartViewModel.submit(CartViewModel.kt:214)",
  "com.shopfront.app.checkout.CheckoutRepository.placeOrder(CheckoutRepository.kt:88)",
  "com.shopfront.app.net.ApiClient.execute(ApiClient.kt:131)",
  "com.shopfront.app.net.AuthInterceptor.intercept(AuthInterceptor.kt:47)",
  "okhttp3.internal.http.RealInterceptorChain.proceed(RealInterceptorChain.kt:109)",
  "okhttp3.internal.connection.RealCall.getResponseWithInterceptorChain(RealCall.kt:201)",
  "kotlinx.coroutines.DispatchedTask.run(DispatchedTask.kt:108)",
  "kotlinx.coroutines.scheduling.CoroutineScheduler$Worker.runWorker(CoroutineScheduler.kt:750)",
  "android.os.Handler.dispatchMessage(Handler.java:106)",
  "android.os.Looper.loopOnce(Looper.java:201)",
  "android.app.ActivityThread.main(ActivityThread.java:8177)",
];
const exceptions = [
  "java.net.SocketTimeoutException: timeout",
  "java.lang.IllegalStateException: cart is empty after refresh",
  "retrofit2.HttpException: HTTP 503 Service Unavailable",
  "android.database.sqlite.SQLiteDatabaseLockedException: database is locked (code 5 SQLITE_BUSY)",
];

function stackTrace(random: Random): string {
  const depth = random.int(6, frames.length);
  const start = random.int(0, frames.length - depth);
  const lines = [random.pick(exceptions), ...frames.slice(start, start + depth).map((frame) => `\tat ${frame}`)];
  return lines.join("\n");
}

/** One line: the level mix of a real app, and text with the ids and numbers real lines carry. */
function line(random: Random, ts: number, userId: string) {
  const roll = random.next();
  const level = roll < 0.03 ? "error" : roll < 0.1 ? "warn" : roll < 0.3 ? "debug" : "info";
  const tag = random.pick(tags);
  const requestId = random.uuid();
  const durationMs = random.int(3, 2400);
  let text: string;
  let attrs: Record<string, string | number | boolean> | undefined;
  if (level === "error" && random.next() < 0.7) {
    text = `${tag === "Network" ? "request" : "operation"} failed after ${durationMs} ms\n${stackTrace(random)}`;
    attrs = { requestId, userId, retry: random.int(0, 3) };
  } else {
    const kind = random.int(0, 5);
    const path = `/v2/users/${userId}/orders/${random.int(100000, 999999)}?page=${random.int(1, 40)}&limit=50`;
    if (kind === 0) {
      const status = random.pick([200, 200, 200, 201, 204, 304, 404, 500]);
      text = `GET https://${random.pick(hosts)}${path} -> ${status} in ${durationMs} ms (${random.int(200, 90000)} bytes)`;
      attrs = { requestId, status, durationMs };
    } else if (kind === 1) text = `screen ${random.pick(screens)} shown for user ${userId} (session ${random.uuid()})`;
    else if (kind === 2)
      text = `cache miss img:${random.hex(16)}, fetching https://${hosts[1]}/img/${random.hex(12)}.webp`;
    else if (kind === 3)
      text = `sync done: ${random.int(0, 500)} items, ${random.int(0, 4)} conflicts in ${(durationMs / 1000).toFixed(3)} s`;
    else if (kind === 4) {
      text = `payment ${random.uuid()} authorized: amount=${random.int(100, 99999)} currency=EUR card=****${random.int(1000, 9999)}`;
      attrs = { userId, durationMs };
    } else
      text = `battery ${random.int(5, 100)}%, memory ${random.int(80, 900)} MB, network ${random.pick(["wifi", "5g", "4g"])}`;
  }
  return attrs ? { ts, level, tag, text, attrs } : { ts, level, tag, text };
}

export type Bodies = {
  batchLines: number;
  /** A fresh upload body: its own batch id, one of the devices, one of the pool's line arrays. */
  next(): string;
  /** Mean bytes of a body, and how much zstd (level 3, as the regions store batches) shrinks the pool. */
  bodyBytes: number;
  zstdRatio: number;
};

/**
 * A pool of upload bodies of `batchLines` lines each.
 * @example const bodies = uploadBodies(100); await fetch(url, { method: "POST", body: bodies.next() });
 */
export function uploadBodies(batchLines: number): Bodies {
  const random = generator(batchLines);
  const nowMs = Date.now();
  const devices = Array.from({ length: deviceCount }, (_, index) =>
    JSON.stringify({
      id: random.uuid(),
      model: random.pick(["Pixel 9", "Galaxy S24", "iPhone 15", "iPhone 13", "Redmi Note 13"]),
      os: index % 3 === 0 ? "iOS" : "Android",
      osVersion: String(random.int(14, 18)),
      appVersion: `4.${random.int(0, 12)}.${random.int(0, 9)}`,
    }),
  );
  const logs = Array.from({ length: poolSize }, () => {
    const userId = `u_${random.int(1, 2_000_000)}`;
    let ts = nowMs - random.int(60_000, 3_600_000);
    return JSON.stringify(
      Array.from({ length: batchLines }, () => {
        ts += random.int(5, 800);
        return line(random, ts, userId);
      }),
    );
  });
  const body = (index: number) =>
    `{"batchId":"${crypto.randomUUID()}","device":${devices[index % deviceCount]},"logs":${logs[index % poolSize]}}`;
  const samples = Array.from({ length: poolSize }, (_, index) => Buffer.from(body(index)));
  const raw = samples.reduce((total, sample) => total + sample.length, 0);
  const packed = samples.reduce((total, sample) => total + zstdCompressSync(sample).length, 0);
  let sequence = 0;
  return {
    batchLines,
    next: () => body(sequence++),
    bodyBytes: Math.round(raw / samples.length),
    zstdRatio: raw / packed,
  };
}
