/**
 * A tiny app for the SDK's exit tests, run as its own process:
 *   exit-app.ts <dir> <endpoint> drain   logs, then lets the event loop run dry (beforeExit flush)
 *   exit-app.ts <dir> <endpoint> exit    logs, then calls process.exit() at once (nothing sent,
 *                                        everything written to the queue file on the way out)
 *   exit-app.ts <dir> <endpoint> crash   logs, then throws (captureErrors logs it as fatal)
 */
import { init } from "../node.ts";

const [dir = "", endpoint = "", mode = "drain"] = process.argv.slice(2);
const log = init({ appKey: "sl_ingest_test", endpoint, dir, flushIntervalMs: 60_000, captureErrors: true });
for (let index = 0; index < 5; index++) log.info(`${mode} line ${index}`);
if (mode === "exit") process.exit(0);
if (mode === "crash")
  setTimeout(() => {
    throw new Error("boom");
  }, 10);
