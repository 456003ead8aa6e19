/**
 * Remote logging settings as the edge knows them, per app (shared/device-settings.ts). Devices poll
 * `GET /v1/settings` every few minutes and the Bugfender SDK asks at each start, so the edge must
 * answer without asking a region per device: it fetches an app's whole list (signed
 * `GET /internal/v1/apps/:appId/device-settings`, with the asking request's key) and keeps it per
 * isolate, as it keeps revocations (revocations.ts), but it fails open, since a stale setting costs
 * at worst a few lines uploaded or held:
 *   - fresh for `deviceSettingsFreshMs`: served as is;
 *   - then served stale while one background refresh runs (under `waitUntil`), however old, so
 *     settings are answered with every region down once the app's list was fetched;
 *   - never fetched: the request waits for one, at most `deviceSettingsWaitMs`, and without an
 *     answer gets null, for which the route answers the built-in default (enabled, from trace):
 *     a device that cannot learn otherwise keeps logging.
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import { deviceSettingsListSchema, type StoredDeviceSetting, settingWins } from "../shared/device-settings.ts";
import { internalPaths, type Region } from "../shared/regions.ts";
import type { RefreshContext, RevocationSource } from "./revocations.ts";

export const deviceSettingsFreshMs = 30_000;
export const deviceSettingsWaitMs = 2_000;
/** As for the revocation list (revocations.ts): a hung region leaves time to ask the next one. */
export const deviceSettingsAttemptMs = deviceSettingsWaitMs / 2;
/** Apps kept per isolate; the least recently fetched goes first. */
export const deviceSettingsAppsMax = 1000;

export interface DeviceSettingsCache {
  /** The app's settings at every scope, or null when never fetched and no region answers. */
  current(appId: string, appKey: string, context: RefreshContext): Promise<readonly StoredDeviceSetting[] | null>;
  /** A change a region just stored through this edge, applied to the app's list if it is held. */
  remember(appId: string, setting: StoredDeviceSetting): void;
}

export function createDeviceSettingsCache(options: {
  client: Pick<RevocationSource, "forward">;
  regions: readonly Region[];
  clock?: Clock;
}): DeviceSettingsCache {
  const clock = options.clock ?? systemClock;
  const known = new Map<string, { settings: StoredDeviceSetting[]; fetchedAtMs: number }>();
  const inFlight = new Map<string, Promise<void>>();

  async function fetchList(appId: string, appKey: string, requestId: string): Promise<void> {
    const answer = await options.client.forward(
      options.regions,
      { method: "GET", pathAndQuery: internalPaths.deviceSettings(appId), requestId, appKey },
      { deadlineMs: deviceSettingsWaitMs, attemptTimeoutMs: deviceSettingsAttemptMs },
    );
    if (!answer.ok) return;
    const { response } = answer.value;
    if (!response.ok) {
      await response.body?.cancel();
      return;
    }
    const parsed = deviceSettingsListSchema.safeParse(await response.json().catch(() => null));
    if (!parsed.success) return;
    known.delete(appId);
    known.set(appId, { settings: parsed.data.settings, fetchedAtMs: clock.now() });
    if (known.size > deviceSettingsAppsMax) known.delete(known.keys().next().value as string);
  }

  function refresh(appId: string, appKey: string, requestId: string): Promise<void> {
    // One refresh per app at a time, however many devices find it stale.
    let running = inFlight.get(appId);
    if (!running) {
      running = fetchList(appId, appKey, requestId)
        .catch(() => undefined)
        .finally(() => inFlight.delete(appId));
      inFlight.set(appId, running);
    }
    return running;
  }

  return {
    async current(appId, appKey, context) {
      const entry = known.get(appId);
      if (!entry) {
        await refresh(appId, appKey, context.requestId);
        return known.get(appId)?.settings ?? null;
      }
      if (clock.now() - entry.fetchedAtMs >= deviceSettingsFreshMs) {
        context.waitUntil(refresh(appId, appKey, context.requestId));
      }
      return entry.settings;
    },
    remember(appId, setting) {
      const entry = known.get(appId);
      if (!entry) return;
      const same = (held: StoredDeviceSetting) => held.scope === setting.scope && held.value === setting.value;
      const held = entry.settings.find(same);
      if (held && !settingWins(setting, held)) return;
      entry.settings = [...entry.settings.filter((other) => !same(other)), setting];
    },
  };
}
