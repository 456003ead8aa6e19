/**
 * Remote logging control: whether a device uploads, and from which level. A manage key sets it at
 * three scopes, and the most specific one set wins:
 *
 *   device       (`PUT /v1/devices/{id}/settings`)       one device
 *   version      (`PUT /v1/settings?appVersion=1.2.3`)    every device running that app version
 *   app          (`PUT /v1/settings`)                     the app's default
 *   (built in)                                            enabled, from trace: everything uploads
 *
 * Each stored setting is control-plane data like an app's retention: the edge stamps a change with
 * its time and sends it to every region, each keeps the latest by `updatedAt`
 * (regional/store/device-settings.ts), and anti-entropy carries it to a region that missed it
 * (`controlStateSchema.deviceSettings`). The edge answers `GET /v1/settings` from a per-app cache of
 * the whole list (edge/device-settings-cache.ts), so a device's poll costs no region a request.
 */
import { z } from "zod";
import { levelSchema } from "./batch.ts";
import { limits } from "./limits.ts";
import { storableString } from "./storable.ts";

/** What a device obeys: upload or keep lines queued, and the lowest level it uploads. */
export const deviceSettingsSchema = z.strictObject({ enabled: z.boolean(), minLevel: levelSchema });
export type DeviceSettings = z.infer<typeof deviceSettingsSchema>;

/** What a device does when nobody set anything (or the edge never learned what was set). */
export const builtInDeviceSettings: DeviceSettings = { enabled: true, minLevel: "trace" };

export const settingScopes = ["app", "version", "device"] as const;
export type SettingScope = (typeof settingScopes)[number];

/** A device id or an app version as a scope value: the bounds of a device id in a batch. */
export const scopeValueSchema = storableString().min(1).max(limits.idLengthMax);

/** `GET /v1/settings`: the device asking, and the app version it runs (both optional). */
export const effectiveSettingsQuerySchema = z.strictObject({
  device: scopeValueSchema.optional(),
  appVersion: scopeValueSchema.optional(),
});
export type EffectiveSettingsQuery = z.infer<typeof effectiveSettingsQuerySchema>;

/** `PUT /v1/settings`'s query: none for the app's default, `appVersion` for one version. */
export const settingsScopeQuerySchema = z.strictObject({ appVersion: scopeValueSchema.optional() });

/** One stored setting, as a region holds it and answers it. `value` is "" for the app scope. */
export const storedDeviceSettingSchema = z.object({
  scope: z.enum(settingScopes),
  value: z.string().max(limits.idLengthMax),
  enabled: z.boolean(),
  minLevel: levelSchema,
  /** Epoch milliseconds of the change; the latest wins between regions. */
  updatedAt: z.int().min(0).max(8.64e15),
});
export type StoredDeviceSetting = z.infer<typeof storedDeviceSettingSchema>;

/** What the edge sends a region (and the admin CLI the admin listener) to change one setting. */
export const deviceSettingChangeSchema = z
  .strictObject({
    scope: z.enum(settingScopes),
    value: z.string().max(limits.idLengthMax),
    enabled: z.boolean(),
    minLevel: levelSchema,
    updatedAt: z.iso.datetime({ offset: true }),
  })
  .refine((change) => (change.scope === "app") === (change.value === ""), {
    message: 'the app scope has value "", the others a device id or an app version',
    path: ["value"],
  });
export type DeviceSettingChange = z.infer<typeof deviceSettingChangeSchema>;

/** A region's answer to a change (what it holds afterwards) and to the list. */
export const deviceSettingAnswerSchema = z.object({ setting: storedDeviceSettingSchema });
export const deviceSettingsListSchema = z.object({ settings: z.array(storedDeviceSettingSchema) });
export type DeviceSettingsList = z.infer<typeof deviceSettingsListSchema>;

/** `GET /v1/settings` and the answer to a `PUT`: the settings in force and which scope set them. */
export const effectiveSettingsSchema = deviceSettingsSchema.extend({
  source: z.enum([...settingScopes, "default"]),
});
export type EffectiveSettings = z.infer<typeof effectiveSettingsSchema>;

/**
 * The settings a device obeys: its own, else its app version's, else the app's, else built in.
 *
 * @example effectiveSettings([], "phone-1", "1.0") // { enabled: true, minLevel: "trace", source: "default" }
 */
export function effectiveSettings(
  settings: readonly StoredDeviceSetting[],
  device: string | undefined,
  appVersion: string | undefined,
): EffectiveSettings {
  const find = (scope: SettingScope, value: string | undefined) =>
    value === undefined ? undefined : settings.find((setting) => setting.scope === scope && setting.value === value);
  const found = find("device", device) ?? find("version", appVersion) ?? find("app", "");
  return found
    ? { enabled: found.enabled, minLevel: found.minLevel, source: found.scope }
    : { ...builtInDeviceSettings, source: "default" };
}

/**
 * Whether change `a` wins over `b` for the same scope: the later, then (same millisecond) an
 * arbitrary but fixed order (enabled first, then the lower level name), so regions converge.
 */
export function settingWins(a: StoredDeviceSetting, b: StoredDeviceSetting): boolean {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt > b.updatedAt;
  if (a.enabled !== b.enabled) return a.enabled;
  return a.minLevel < b.minLevel;
}
