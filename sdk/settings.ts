/**
 * Remote logging control on the device: what `GET /v1/settings` says this device should do
 * (README "Remote logging control"). The client asks when it starts and every `settingsIntervalMs`;
 * until an answer arrives, and whenever the edge cannot be asked, it keeps what it knew last (at
 * start: enabled, from trace, so nothing is lost for want of an answer).
 */
import { type Level, levels } from "./types.ts";

export type RemoteSettings = { enabled: boolean; minLevel: Level };

export const defaultRemoteSettings: RemoteSettings = { enabled: true, minLevel: "trace" };

export type SettingsRequest = {
  endpoint: string;
  appKey: string;
  deviceId: string;
  appVersion: string | undefined;
  timeoutMs: number;
  fetch: typeof fetch;
};

/** The device's settings, or null when the edge gave none (no answer, an error, a body not understood). */
export async function fetchSettings(request: SettingsRequest): Promise<RemoteSettings | null> {
  const query = new URLSearchParams({ device: request.deviceId });
  if (request.appVersion) query.set("appVersion", request.appVersion);
  try {
    const response = await request.fetch(`${request.endpoint.replace(/\/+$/, "")}/v1/settings?${query}`, {
      headers: { authorization: `Bearer ${request.appKey}` },
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    const body = (await response.json()) as { enabled?: unknown; minLevel?: unknown };
    if (typeof body.enabled !== "boolean" || !levels.includes(body.minLevel as Level)) return null;
    return { enabled: body.enabled, minLevel: body.minLevel as Level };
  } catch {
    return null;
  }
}
