/**
 * The console's one data layer: every call to the edge goes through here, and every answer is
 * parsed with the same `shared/` schemas the server answers with, so a view never sees a shape it
 * did not expect. Calls are same-origin with the session cookie (which the browser sends by
 * itself; the page never holds a key) and name the app in `X-Stormlog-App`, which the edge also
 * takes as the request's CSRF check (see edge/console/session.ts).
 */
import { z } from "zod";
import { type ConsoleSession, consoleAppHeader, consoleSessionSchema } from "../shared/console.ts";
import {
  type RegionsAnswer,
  regionsAnswerSchema,
  type TailPage,
  tailPageSchema,
  type VolumeAnswer,
  volumeAnswerSchema,
} from "../shared/console-api.ts";
import { type DeviceSettings, type EffectiveSettings, effectiveSettingsSchema } from "../shared/device-settings.ts";
import {
  type IssueDetail,
  type IssuePage,
  type IssueStatus,
  issueDetailSchema,
  issuePageSchema,
  issueStatusAnswerSchema,
} from "../shared/issues.ts";
import {
  type AppSettingsAnswer,
  appSettingsAnswerSchema,
  type ErasureReceipt,
  type ErasureStatus,
  erasureReceiptSchema,
  erasureStatusSchema,
  type UsageAnswer,
  usageAnswerSchema,
} from "../shared/lifecycle.ts";
import { type DevicePage, devicePageSchema, deviceRecordSchema, type LogPage, logPageSchema } from "../shared/read.ts";

/**
 * An edge from before the devices list grew counts and paging answers `{devices}` alone: shown
 * with no counts and one page rather than as an error.
 */
const devicesAnswerSchema = devicePageSchema.or(
  z.object({ devices: z.array(deviceRecordSchema) }).transform(({ devices }) => ({
    devices: devices.map((device) => ({
      ...device,
      counts: { trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 },
    })),
    nextCursor: null,
  })),
);

/** A call that failed, as the edge said (`code`, `message`) or as the network did (status 0). */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** The edge does not have this endpoint yet (an older deployment): views say so and go on. */
  get missing(): boolean {
    return this.status === 404 && this.code === "NOT_FOUND";
  }
}

/** The filters every line view shares, as they sit in the URL. */
export type LineFilters = {
  device?: string;
  level?: string;
  levels?: string;
  tag?: string;
  q?: string;
  from?: string;
  to?: string;
};

let currentApp: string | null = null;
/** Which app the calls read from now (the app switcher sets it). */
export function setApp(appId: string | null): void {
  currentApp = appId;
}

async function call<T extends z.ZodType>(schema: T, path: string, init: RequestInit = {}): Promise<z.output<T>> {
  const headers = new Headers(init.headers);
  if (currentApp) headers.set(consoleAppHeader, currentApp);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, credentials: "same-origin" });
  } catch {
    throw new ApiFailure(0, "NETWORK", "the edge did not answer: check your connection");
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: handled below
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiFailure(
      response.status,
      error?.code ?? "HTTP",
      error?.message ?? `the edge answered ${response.status}`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new ApiFailure(response.status, "BAD_ANSWER", `unexpected answer from ${path.split("?")[0]}`);
  return parsed.data;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const api = {
  session: (): Promise<ConsoleSession> => call(consoleSessionSchema, "/v1/console/session"),

  signIn: (key: string): Promise<ConsoleSession> =>
    call(consoleSessionSchema, "/v1/console/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key }),
    }),

  async signOut(appId?: string): Promise<void> {
    await fetch(`/v1/console/session${query({ app: appId })}`, { method: "DELETE", credentials: "same-origin" });
  },

  devices: (params: { q?: string; cursor?: string; limit?: number }): Promise<DevicePage> =>
    call(devicesAnswerSchema, `/v1/devices${query(params)}`),

  logs: (
    filters: LineFilters & { order?: "asc" | "desc"; cursor?: string; around?: string; limit?: number },
  ): Promise<LogPage> => call(logPageSchema, `/v1/logs${query(filters)}`),

  tail: (filters: LineFilters & { after?: string }): Promise<TailPage> => {
    const { from: _from, to: _to, ...rest } = filters;
    return call(tailPageSchema, `/v1/tail${query(rest)}`);
  },

  volume: (params: { from?: string; to?: string; device?: string; buckets?: number }): Promise<VolumeAnswer> =>
    call(volumeAnswerSchema, `/v1/stats/volume${query(params)}`),

  regions: (): Promise<RegionsAnswer> => call(regionsAnswerSchema, "/v1/regions"),

  // The data lifecycle (shared/lifecycle.ts). Changing settings and erasing need a manage-key
  // session; the edge refuses them (403) for a read key whatever the page shows.

  app: (): Promise<AppSettingsAnswer> => call(appSettingsAnswerSchema, "/v1/app"),

  updateApp: (patch: { retentionDays: number }): Promise<AppSettingsAnswer> =>
    call(appSettingsAnswerSchema, "/v1/app", {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(patch),
    }),

  eraseDevice: (deviceId: string): Promise<ErasureReceipt> =>
    call(erasureReceiptSchema, `/v1/devices/${encodeURIComponent(deviceId)}`, { method: "DELETE" }),

  erasure: (erasureId: string): Promise<ErasureStatus> =>
    call(erasureStatusSchema, `/v1/erasures/${encodeURIComponent(erasureId)}`),

  // Remote logging control (shared/device-settings.ts): what a device obeys, and setting it (manage key).

  deviceSettings: (deviceId: string, appVersion?: string | null): Promise<EffectiveSettings> =>
    call(effectiveSettingsSchema, `/v1/settings${query({ device: deviceId, appVersion })}`),

  setDeviceSettings: (deviceId: string, settings: DeviceSettings): Promise<EffectiveSettings> =>
    call(effectiveSettingsSchema, `/v1/devices/${encodeURIComponent(deviceId)}/settings`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(settings),
    }),

  // Issues (shared/issues.ts): groups read with any key; a status change needs a manage-key session.

  issues: (params: { status?: string; cursor?: string; limit?: number }): Promise<IssuePage> =>
    call(issuePageSchema, `/v1/issues${query(params)}`),

  issue: (id: string): Promise<IssueDetail> => call(issueDetailSchema, `/v1/issues/${encodeURIComponent(id)}`),

  setIssueStatus: (id: string, status: IssueStatus): Promise<{ id: string; status: IssueStatus }> =>
    call(issueStatusAnswerSchema, `/v1/issues/${encodeURIComponent(id)}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status }),
    }),

  usage: (params: { from?: string; to?: string } = {}): Promise<UsageAnswer> =>
    call(usageAnswerSchema, `/v1/usage${query(params)}`),
};
