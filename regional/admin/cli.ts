/**
 * The Stormlog admin CLI (`npm run admin -- <command>`): manages apps and their keys on every
 * region of the cluster. Keys are printed once, at creation; regions store only their hashes.
 */
import { parseArgs } from "node:util";
import type { KeyRecord } from "../../shared/admin.ts";
import { levels } from "../../shared/batch.ts";
import { deviceSettingsSchema, type StoredDeviceSetting } from "../../shared/device-settings.ts";
import { isKeyKind } from "../../shared/keys.ts";
import { retentionDaysMax, retentionDaysSchema } from "../../shared/lifecycle.ts";
import {
  createKey,
  erase,
  erasureStates,
  listApps,
  listDeviceSettings,
  listKeys,
  provisionApp,
  type RegionOutcome,
  revokeKey,
  setDeviceSettings,
  setRetention,
  setWebhook,
  verify,
} from "./cluster.ts";
import { loadCluster } from "./config.ts";

const usage = `Usage: npm run admin -- <command>

  apps create <name>     create an app and print its ingest, read and manage keys (shown only once)
  apps list              list apps, with their retention
  apps retention <appId> <days>
                         keep an app's batches <days> days (1-365) in every region
  apps delete <appId>    erase the whole app on every region: its logs, devices and keys (cannot be undone)
  keys create <appId> <ingest|read|manage>
                         mint another key of that kind for the app and print it (shown only once)
  keys list <appId>      list an app's keys (labels and hashes, never the keys)
  keys revoke <key>      revoke a key on every region
  devices erase <appId> <deviceId>
                         erase one device's logs and device record on every region (cannot be undone)
  erasures show <appId> <erasureId>
                         each region's progress on an erasure
  settings set <appId> [--device <id> | --app-version <v>] --enabled true|false --min-level <level>
                         remote logging control: the app's default, one app version's or one
                         device's (levels: ${levels.join(", ")}), in every region
  settings show <appId>  the app's remote logging settings at every scope
  webhooks set <appId> <url>
                         send the app's issue events (new, reopened, feedback) to <url> from every
                         region, and print the signing secret (shown only once)
  verify                 each region's batch count and digest, and whether all agree (exit 1 if not)

Options: --json  print JSON`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      device: { type: "string" },
      "app-version": { type: "string" },
      enabled: { type: "string" },
      "min-level": { type: "string" },
    },
  });
  const [group, command, argument, second] = positionals;
  const cluster = loadCluster();
  const print = (human: string, json: unknown) => console.log(values.json ? JSON.stringify(json, null, 2) : human);

  if (group === "apps" && command === "create" && argument) {
    const app = await provisionApp(cluster, argument);
    print(
      `app ${app.id} (${app.name})\n  ingest key: ${app.ingestKey}\n  read key:   ${app.readKey}\n  manage key: ${app.manageKey}\nKeep these keys: they are not stored and cannot be shown again. The ingest key goes in the app; the read key is for reading logs; the manage key also changes settings and erases data, so keep it to the app's owners.`,
      { id: app.id, name: app.name, ingestKey: app.ingestKey, readKey: app.readKey, manageKey: app.manageKey },
    );
    return reportFailures(app.outcomes, "re-run `keys revoke` for the three keys and create the app again");
  }
  if (group === "apps" && command === "list") {
    const outcomes = await listApps(cluster);
    const first = outcomes.find((outcome) => outcome.ok)?.body;
    const lines = (first?.apps ?? []).map((app) => `${app.id}  ${`${app.retentionDays} days`.padEnd(9)}  ${app.name}`);
    print(lines.join("\n") || "(no apps)", first ?? { apps: [] });
    return reportFailures(outcomes);
  }
  if (group === "apps" && command === "retention" && argument && second) {
    const days = retentionDaysSchema.safeParse(Number(second));
    if (!days.success) {
      console.error(`retention: expected a whole number of days from 1 to ${retentionDaysMax}, got ${second}`);
      return 2;
    }
    const outcomes = await setRetention(cluster, argument, days.data);
    const held = outcomes.find((outcome) => outcome.ok)?.body?.app;
    print(`app ${argument}: batches kept ${held?.retentionDays ?? days.data} days`, { app: held ?? null });
    return reportFailures(
      outcomes,
      "run the same command again, or let anti-entropy bring it to the regions that missed it",
    );
  }
  if (group === "webhooks" && command === "set" && argument && second) {
    const { secret, outcomes } = await setWebhook(cluster, argument, second);
    print(
      `app ${argument}: issue webhooks go to ${second}\n  signing secret: ${secret}\nKeep it: it is not shown again. Each request carries Stormlog-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">.`,
      { appId: argument, url: second, secret },
    );
    return reportFailures(outcomes, "run the same command again (it makes a new secret)");
  }
  if (group === "keys" && command === "create" && argument && second && isKeyKind(second)) {
    const created = await createKey(cluster, argument, second);
    print(`${second} key: ${created.key}\nKeep this key: it is not stored and cannot be shown again.`, {
      appId: argument,
      kind: second,
      key: created.key,
    });
    return reportFailures(created.outcomes, "revoke the key with `keys revoke` and create another");
  }
  if (group === "keys" && command === "list" && argument) {
    const outcomes = await listKeys(cluster, argument);
    const first = outcomes.find((outcome) => outcome.ok)?.body;
    print((first?.keys ?? []).map(formatKey).join("\n") || "(no keys)", first ?? { keys: [] });
    return reportFailures(outcomes);
  }
  if (group === "keys" && command === "revoke" && argument) {
    const outcomes = await revokeKey(cluster, argument);
    print("revoked", { revoked: outcomes.every((outcome) => outcome.ok) });
    return reportFailures(outcomes, "run the same command again: revoking is idempotent");
  }
  if (
    (group === "devices" && command === "erase" && argument && second) ||
    (group === "apps" && command === "delete" && argument)
  ) {
    const { erasure, outcomes } = await erase(cluster, argument, group === "devices" ? (second as string) : null);
    const what =
      erasure.deviceId === null ? `app ${erasure.appId}` : `device ${erasure.deviceId} of app ${erasure.appId}`;
    print(
      `erasure ${erasure.id} of ${what}, requested ${erasure.requestedAt}
${outcomes.map(formatErasureOutcome).join("\n")}
Follow it with: npm run admin -- erasures show ${erasure.appId} ${erasure.id}`,
      {
        erasure,
        regions: outcomes.map(({ region, ok, body, error }) => ({
          region,
          ok,
          completedAt: body?.completedAt ?? null,
          error,
        })),
      },
    );
    // One region holding it is enough: the others learn it from their peers (anti-entropy).
    if (outcomes.some((outcome) => outcome.ok)) return 0;
    reportFailures(outcomes);
    console.error("No region recorded the erasure: nothing was erased. Run the command again.");
    return 1;
  }
  if (group === "erasures" && command === "show" && argument && second) {
    const outcomes = await erasureStates(cluster, argument, second);
    const known = outcomes.find((outcome) => outcome.ok)?.body;
    const completed = outcomes.every((outcome) => outcome.body?.completedAt);
    print(
      `${outcomes.map(formatErasureOutcome).join("\n")}
${completed ? "completed in every region" : "NOT completed everywhere yet"}`,
      {
        erasure: known?.erasure ?? null,
        regions: outcomes.map(({ region, body, status }) => ({
          region,
          completedAt: body?.completedAt ?? null,
          status,
        })),
        completed,
      },
    );
    return completed ? 0 : 1;
  }
  if (group === "settings" && command === "set" && argument) {
    const device = values.device;
    const appVersion = values["app-version"];
    const wanted = deviceSettingsSchema.safeParse({
      enabled: values.enabled === "true" ? true : values.enabled === "false" ? false : values.enabled,
      minLevel: values["min-level"],
    });
    if (!wanted.success || (device !== undefined && appVersion !== undefined)) {
      console.error(
        `settings set: expected --enabled true|false, --min-level one of ${levels.join(", ")}, and at most one of --device, --app-version`,
      );
      return 2;
    }
    const scope =
      device !== undefined
        ? { scope: "device" as const, value: device }
        : appVersion !== undefined
          ? { scope: "version" as const, value: appVersion }
          : { scope: "app" as const, value: "" };
    const outcomes = await setDeviceSettings(cluster, argument, { ...scope, ...wanted.data });
    const held = outcomes.find((outcome) => outcome.ok)?.body?.setting;
    print(held ? formatSetting(held) : "no region stored it", { setting: held ?? null });
    return reportFailures(
      outcomes,
      "run the same command again, or let anti-entropy bring it to the regions that missed it",
    );
  }
  if (group === "settings" && command === "show" && argument) {
    const outcomes = await listDeviceSettings(cluster, argument);
    const first = outcomes.find((outcome) => outcome.ok)?.body;
    const lines = (first?.settings ?? []).map(formatSetting);
    print(lines.join("\n") || "(none set: every device logs from trace)", first ?? { settings: [] });
    return reportFailures(outcomes);
  }
  if (group === "verify" && command === undefined) {
    const result = await verify(cluster);
    const lines = Object.entries(result.regions).map(([name, region]) =>
      "digest" in region
        ? `${name.padEnd(12)} ${String(region.batches).padStart(9)} batches  ${region.digest}`
        : `${name.padEnd(12)} unreachable: ${region.error}`,
    );
    print(`${lines.join("\n")}\n${result.converged ? "converged" : "NOT converged"}`, result);
    return result.converged ? 0 : 1;
  }
  console.error(usage);
  return 2;
}

function formatSetting(setting: StoredDeviceSetting): string {
  const where = setting.scope === "app" ? "app default" : `${setting.scope} ${setting.value}`;
  const state = setting.enabled ? `enabled from ${setting.minLevel}` : `disabled (min level ${setting.minLevel})`;
  return `${where.padEnd(24)}  ${state.padEnd(28)}  set ${new Date(setting.updatedAt).toISOString()}`;
}

function formatKey(key: KeyRecord): string {
  return `${key.kind.padEnd(6)}  ${key.label}  created ${key.createdAt}${key.revokedAt ? `  REVOKED ${key.revokedAt}` : ""}`;
}

function formatErasureOutcome(outcome: RegionOutcome<{ completedAt: string | null }>): string {
  const state = outcome.body
    ? outcome.body.completedAt
      ? `completed ${outcome.body.completedAt}`
      : "pending"
    : outcome.status === 404
      ? "pending (does not know it yet)"
      : `unreachable: ${outcome.error ?? "no answer"}`;
  return `${outcome.region.padEnd(12)} ${state}`;
}

/** Every region must have done it; say which did not, and what to do. */
function reportFailures(outcomes: RegionOutcome[], remedy?: string): number {
  const failed = outcomes.filter((outcome) => !outcome.ok);
  for (const outcome of failed) {
    const why = outcome.error ?? "no answer";
    console.error(`region ${outcome.region}: failed (${outcome.status ?? "unreachable"}): ${why}`);
  }
  if (failed.length > 0 && remedy) console.error(`Not every region has it: ${remedy}.`);
  return failed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
