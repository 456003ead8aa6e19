/**
 * The Worker entry: hands the app (app.ts) and the spool consumer (spool/consumer.ts) to the
 * runtime, and exports the health Durable Object class (health/object.ts) for its binding.
 */
import { app } from "./app.ts";
import { createQueueHandler } from "./spool/consumer.ts";

export { RegionHealth } from "./health/object.ts";

export default { fetch: app.fetch, queue: createQueueHandler() } satisfies ExportedHandler<Env>;
