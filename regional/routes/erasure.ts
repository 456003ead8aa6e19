/**
 * Erasure records, as control-plane data: `PUT …/apps/:appId/erasures/:erasureId` with
 * `{deviceId|null, requestedAt}` records and applies one here (store/erasure.ts), idempotent by
 * id, and answers its state here; `GET` of the same path answers that state, 404 when this region
 * does not know it (yet). Two doors:
 *
 * - the edge's (`internalPaths.erasure`), for a client's manage key (`DELETE /v1/devices/:id`) to
 *   erase one device; its `GET` for a read key. A whole app is deleted only through the admin door.
 * - the admin CLI's (`adminPaths.erasure`): `devices erase`, `apps delete`, `erasures show`.
 *
 * Regions that miss the call learn the erasure from their peers' control-plane state.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type Erasure, erasureIdSchema, erasureRequestSchema, type RegionErasure } from "../../shared/lifecycle.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireAppKey, requireReadKey } from "../read-key.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";

const path = "/apps/:appId/erasures/:erasureId";

/** The edge's door (mounted at /internal/v1). */
export function erasureRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .put(path, guard, requireAppKey({ store }, "manage"), async (c) => {
      const erasure = await readErasure(c.req.raw, c.req.param("appId"), c.req.param("erasureId"));
      if (erasure.deviceId === null) {
        throw new ApiError(
          "FORBIDDEN",
          "a whole app is deleted with the admin CLI (admin apps delete), not an app key",
        );
      }
      return c.json(await eraseHere(store, erasure));
    })
    .get(path, guard, requireReadKey({ store }), async (c) =>
      c.json(await stateHere(store, c.req.param("appId"), c.req.param("erasureId"))),
    );
}

/** The admin CLI's door (mounted at /admin/v1): devices and whole apps. */
export function adminErasureRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .put(path, guard, async (c) => {
      const erasure = await readErasure(c.req.raw, c.req.param("appId"), c.req.param("erasureId"));
      return c.json(await eraseHere(store, erasure));
    })
    .get(path, guard, async (c) => c.json(await stateHere(store, c.req.param("appId"), c.req.param("erasureId"))));
}

async function eraseHere(store: RegionDeps["store"], erasure: Erasure): Promise<RegionErasure> {
  const state = await store.erase(erasure);
  if (!state) throw new ApiError("BAD_REQUEST", `erasure id ${erasure.id} already names another erasure`);
  return state;
}

async function readErasure(request: Request, appIdParam: string, erasureIdParam: string): Promise<Erasure> {
  const appId = parseAppId(appIdParam);
  const id = erasureIdSchema.safeParse(erasureIdParam);
  if (!id.success) throw new ApiError("BAD_REQUEST", "erasureId: expected an erasure id (er_ and 32 hex digits)");
  const raw = await readSignedBody(request, controlBodyBytesMax);
  const body = parseWith(erasureRequestSchema, parseJsonBody(request.headers.get("content-type") ?? undefined, raw));
  return { id: id.data, appId, ...body };
}

async function stateHere(store: RegionDeps["store"], appIdParam: string, erasureIdParam: string) {
  const appId = parseAppId(appIdParam);
  const state = await store.erasure(appId, erasureIdParam);
  if (!state) throw new ApiError("NOT_FOUND", `erasure ${erasureIdParam} is not known in this region (yet)`);
  return state satisfies RegionErasure;
}
