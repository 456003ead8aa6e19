/** Column types shared by the tables: binary blobs and millisecond timestamps. */
import { customType, timestamp } from "drizzle-orm/pg-core";

/**
 * `bytea` as bytes in and out. postgres.js returns a Buffer and PGlite a Uint8Array; both are
 * Uint8Array, which is all the envelope code needs.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
});

/** timestamptz at millisecond precision: log lines carry epoch milliseconds, no finer. */
export function timestampMs(name: string) {
  return timestamp(name, { withTimezone: true, precision: 3, mode: "date" });
}
