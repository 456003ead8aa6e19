/** The Worker entry: only hands the app (app.ts) to the runtime. */
import { app } from "./app.ts";

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
