/**
 * The Worker entry: hands the app (app.ts) and the spool consumer (spool/consumer.ts) to the
 * runtime, and exports the Durable Object classes for their bindings: the health table
 * (health/object.ts) and the console's sessions (console/sessions.ts).
 */
import { app } from "./app.ts";
import { createQueueHandler } from "./spool/consumer.ts";

export { ConsoleSessions } from "./console/sessions.ts";
export { RegionHealth } from "./health/object.ts";

export default { fetch: app.fetch, queue: createQueueHandler() } satisfies ExportedHandler<Env>;
