// The Worker's secrets, declared here because `wrangler types` only sees them when a .dev.vars
// file happens to exist: KEY_SECRET (mints and verifies app keys), EDGE_SECRET (signs calls to
// regions as the edge; the regions' STORMLOG_EDGE_SECRET), SPOOL_SECRET (seals spooled batches)
// and CONSOLE_SECRET (signs the console's session cookie). Set them with `wrangler secret put`,
// or in .dev.vars locally. Validated in config.ts.
declare namespace Cloudflare {
  interface Env {
    KEY_SECRET: string;
    EDGE_SECRET: string;
    SPOOL_SECRET: string;
    CONSOLE_SECRET: string;
  }
}
interface Env {
  KEY_SECRET: string;
  EDGE_SECRET: string;
  SPOOL_SECRET: string;
  CONSOLE_SECRET: string;
}
