/**
 * `GET /internal/v1/apps/:appId/devices`: the app's devices, most recently active first, for the
 * holder of a live read key of the app (read-key.ts).
 */
import { Hono } from "hono";
import type { DeviceRecord } from "../../shared/read.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId } from "../request.ts";

export function devicesRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/devices", guard, requireReadKey({ store }), async (c) => {
    const devices: DeviceRecord[] = await store.devices(parseAppId(c.req.param("appId")));
    return c.json({ devices });
  });
}
