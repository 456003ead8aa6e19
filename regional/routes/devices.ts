/** `GET /internal/v1/apps/:appId/devices`: the app's devices, most recently active first. */
import { Hono } from "hono";
import type { DeviceRecord } from "../../shared/read.ts";
import type { RegionDeps, RegionEnv } from "../context.ts";
import { parseAppId } from "../request.ts";

export function devicesRoute({ store }: Pick<RegionDeps, "store">) {
  return new Hono<RegionEnv>().get("/apps/:appId/devices", async (c) => {
    const devices: DeviceRecord[] = await store.devices(parseAppId(c.req.param("appId")));
    return c.json({ devices });
  });
}
