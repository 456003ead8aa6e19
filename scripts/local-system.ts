/**
 * Runs the whole Stormlog system on this machine: three regional workers (Node, each with its own
 * PGlite folder) and the edge on workerd (`wrangler dev`). `npm start` uses it, and so do the
 * cross-tier tests, which is why it can put everything under any folder and on any ports.
 *
 * Secrets for local use are generated on first start and kept in `<dir>/secrets.json` and
 * `<dir>/keyring.json` (mode 0600): the key secret, and one signing secret per caller role (the
 * edge's, the peers', the admin CLI's). A second start reuses them, the data and the demo app.
 * Each region also listens on an admin port (8711, 8712, … by default), which `npm run admin`
 * finds in `<dir>/local.json`.
 *
 * It starts and stops processes when told; deciding to restart one that exited is the caller's
 * (`npm start` hands that to scripts/supervisor.ts; tests and the chaos harness do it themselves).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Cluster, createKey, provisionApp } from "../regional/admin/cluster.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { generateKeyMaterial, type KeyringConfig } from "../shared/envelope.ts";
import type { Location, Region, RoutedRegion } from "../shared/regions.ts";
import { ensureConsoleFolder } from "./console-setup.ts";
import { defaultRegionNames } from "./local-config.ts";

export type LocalSystemOptions = {
  /** Folder for data, secrets and local.json; `.stormlog` for `npm start`. */
  dir: string;
  regionNames?: string[];
  edgePort?: number;
  /** wrangler dev always opens a DevTools inspector; its port. */
  inspectorPort?: number;
  /** One port per region; by default 8701, 8702, … */
  regionPorts?: number[];
  /** One admin port per region (the admin CLI's listener); by default 8711, 8712, … */
  adminPorts?: number[];
  /** Where child output goes; tests keep it quiet and show it on failure. */
  output?: (source: string, line: string) => void;
  /** How often the edge probes the regions (HEALTH_PROBE_INTERVAL_MS); wrangler.toml's default if unset. */
  healthProbeIntervalMs?: number;
  /**
   * The URL region `from` uses to reach its peer `to` (by default the peer's own URL); the chaos
   * harness puts a fault-injecting proxy there.
   */
  peerUrl?: (from: string, to: Region) => string;
  /**
   * Extra environment for every region (replication timings, for instance), or a function of the
   * region's name for what differs between them (each its own PostgreSQL database).
   */
  regionEnv?: RegionEnv;
  /** The edge's wrangler config (default the repo's wrangler.toml); tests pass one without a spool. */
  wranglerConfig?: string;
};

export type RegionEnv = Record<string, string> | ((region: string) => Record<string, string>);

/** A local region as the edge routes to it, and where its admin listener is. */
export type LocalRegion = RoutedRegion & { adminUrl: string };

export type LocalInfo = {
  edgeUrl: string;
  regions: LocalRegion[];
  app: { id: string; ingestKey: string; readKey: string; manageKey: string };
  /** A one-time link that opens the console signed in to the demo app (npm start writes it). */
  consoleUrl?: string;
};

/** The key secret, the secret of each caller role (the edge, the peers, the admin CLI), and the edge's spool secret. */
type Secrets = {
  keySecret: string;
  edgeSecret: string;
  peerSecret: string;
  adminSecret: string;
  spoolSecret: string;
  /** Signs the console's session cookie (edge/console/cookie.ts). */
  consoleSecret: string;
};

const repoRoot = path.resolve(import.meta.dirname, "..");
/** Where the edge believes the local regions are (Dublin, Virginia, Mumbai), by position. */
export const defaultLocations: Location[] = [
  { lat: 53.35, lon: -6.26 },
  { lat: 38.95, lon: -77.45 },
  { lat: 19.08, lon: 72.88 },
];
const startTimeoutMs = 90_000;
const stopTimeoutMs = 15_000;

export class LocalSystem {
  readonly info: LocalInfo;
  private readonly options: Required<LocalSystemOptions>;
  private readonly children = new Map<string, ChildProcess>();
  /** Set once `stop` is called: nothing may start after it. */
  private stopped: Promise<void> | undefined;
  /** Called when a child exits while the system is meant to be running (not after `stopRegion` or `stop`). */
  onUnexpectedExit: (source: string, code: number | null, signal: NodeJS.Signals | null) => void = () => {};

  private constructor(options: Required<LocalSystemOptions>, info: LocalInfo) {
    this.options = options;
    this.info = info;
  }

  static async start(options: LocalSystemOptions): Promise<LocalSystem> {
    const regionNames = options.regionNames ?? defaultRegionNames;
    const resolved: Required<LocalSystemOptions> = {
      dir: path.resolve(options.dir),
      regionNames,
      edgePort: options.edgePort ?? 8787,
      inspectorPort: options.inspectorPort ?? 9230,
      regionPorts: options.regionPorts ?? regionNames.map((_, index) => 8701 + index),
      adminPorts: options.adminPorts ?? regionNames.map((_, index) => 8711 + index),
      output: options.output ?? ((source, line) => console.log(`[${source}] ${line}`)),
      healthProbeIntervalMs: options.healthProbeIntervalMs ?? 0,
      peerUrl: options.peerUrl ?? ((_from, to) => to.url),
      regionEnv: options.regionEnv ?? {},
      wranglerConfig: options.wranglerConfig ?? path.join(repoRoot, "wrangler.toml"),
    };
    mkdirSync(resolved.dir, { recursive: true });
    const secrets = loadOrCreateSecrets(resolved.dir);
    const regions = resolved.regionNames.map((name, index) => ({
      name,
      url: `http://127.0.0.1:${resolved.regionPorts[index]}`,
      location: defaultLocations[index % defaultLocations.length] as Location,
      adminUrl: `http://127.0.0.1:${resolved.adminPorts[index]}`,
    }));
    const edgeUrl = `http://127.0.0.1:${resolved.edgePort}`;
    const previous = readJson<LocalInfo>(path.join(resolved.dir, "local.json"));
    const system = new LocalSystem(resolved, {
      edgeUrl,
      regions,
      app: previous?.app ?? { id: "", ingestKey: "", readKey: "", manageKey: "" },
    });
    try {
      await Promise.all(regions.map((region) => system.startRegion(region.name)));
      if (!previous?.app) {
        const app = await provisionApp(system.adminCluster(), "demo");
        const failed = app.outcomes.filter((outcome) => !outcome.ok);
        if (failed.length > 0) throw new Error(`could not provision the demo app: ${JSON.stringify(failed)}`);
        system.info.app = { id: app.id, ingestKey: app.ingestKey, readKey: app.readKey, manageKey: app.manageKey };
      } else if (!previous.app.manageKey) {
        // A folder from before manage keys: give its demo app one.
        const created = await createKey(system.adminCluster(), previous.app.id, "manage");
        if (created.outcomes.some((outcome) => !outcome.ok))
          throw new Error("could not mint the demo app's manage key");
        system.info.app = { ...previous.app, manageKey: created.key };
      }
      writeFileSync(path.join(resolved.dir, "local.json"), `${JSON.stringify(system.info, null, 2)}\n`, {
        mode: 0o600,
      });
      ensureConsoleFolder();
      await system.startEdge(secrets);
      return system;
    } catch (error) {
      await system.stop();
      throw error;
    }
  }

  /** Every process it runs: the regions by name, then `edge`. */
  get processNames(): string[] {
    return [...this.info.regions.map((region) => region.name), "edge"];
  }

  /** The running process's id, or null while it is not running. */
  pid(name: string): number | null {
    return this.children.get(name)?.pid ?? null;
  }

  /** Starts (or restarts) one process, a region or the edge, and waits until it reports healthy. */
  async startProcess(name: string): Promise<void> {
    if (name === "edge") await this.startEdge(loadOrCreateSecrets(this.options.dir));
    else await this.startRegion(name);
  }

  /** The cluster as the admin CLI reaches it: each region's admin listener, the key and admin secrets. */
  adminCluster(): Cluster {
    const { keySecret, adminSecret } = loadOrCreateSecrets(this.options.dir);
    return {
      regions: this.info.regions.map(({ name, adminUrl }) => ({ name, url: adminUrl })),
      keySecret,
      adminSecret,
    };
  }

  /** Starts (or restarts) one regional worker and waits until it reports healthy. */
  async startRegion(name: string): Promise<void> {
    const region = this.region(name);
    const {
      STORMLOG_REGIONS: _regions,
      DATABASE_URL: _databaseUrl,
      STORMLOG_KEYSTORE_DATABASE_URL: _keystoreUrl,
      STORMLOG_REGION_SECRET: _retired,
      ...inherited
    } = process.env;
    const secrets = loadOrCreateSecrets(this.options.dir);
    const child = this.spawnChild(name, [path.join(repoRoot, "regional/server.ts")], {
      ...inherited,
      STORMLOG_REGION: name,
      STORMLOG_HOST: "127.0.0.1",
      STORMLOG_PORT: new URL(region.url).port,
      STORMLOG_ADMIN_HOST: "127.0.0.1",
      STORMLOG_ADMIN_PORT: new URL(region.adminUrl).port,
      STORMLOG_DATA_DIR: regionFolders(this.options.dir, name).dataDir,
      STORMLOG_KEYSTORE_DIR: regionFolders(this.options.dir, name).keystoreDir,
      STORMLOG_EDGE_SECRET: secrets.edgeSecret,
      STORMLOG_PEER_SECRET: secrets.peerSecret,
      STORMLOG_ADMIN_SECRET: secrets.adminSecret,
      STORMLOG_KEYRING_FILE: path.join(this.options.dir, "keyring.json"),
      STORMLOG_PEERS: JSON.stringify(
        this.info.regions
          .filter((peer) => peer.name !== name)
          .map((peer) => ({ name: peer.name, url: this.options.peerUrl(name, peer) })),
      ),
      ...regionEnvOf(this.options.regionEnv, name),
    });
    await waitForHealth(`${region.url}/v1/health`, name, child);
  }

  /**
   * Sends a signal to one process (a region, or `edge`) without waiting: SIGKILL for a crash,
   * SIGSTOP for a pause.
   */
  signalRegion(name: string, signal: NodeJS.Signals): void {
    const child = this.children.get(name);
    if (child) signalGroup(child, signal);
  }

  /** Stops one process (a region, or `edge`) and resolves with its exit code once it has exited. */
  async stopRegion(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.children.get(name);
    if (!child) return null;
    this.children.delete(name);
    return stopChild(child, signal);
  }

  /** Stops every process; a second call (a signal during a stop, say) waits for the same stop. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const children = [...this.children.values()];
      this.children.clear();
      await Promise.all(children.map((child) => stopChild(child, "SIGTERM")));
    })();
    return this.stopped;
  }

  private async startEdge(secrets: Secrets): Promise<void> {
    const envFile = path.join(this.options.dir, "edge.env");
    const vars = {
      REGIONS: JSON.stringify(this.info.regions.map(({ adminUrl: _admin, ...routed }) => routed)),
      ...(this.options.healthProbeIntervalMs > 0
        ? { HEALTH_PROBE_INTERVAL_MS: String(this.options.healthProbeIntervalMs) }
        : {}),
      KEY_SECRET: secrets.keySecret,
      EDGE_SECRET: secrets.edgeSecret,
      SPOOL_SECRET: secrets.spoolSecret,
      CONSOLE_SECRET: secrets.consoleSecret,
    };
    writeFileSync(
      envFile,
      Object.entries(vars)
        .map(([key, value]) => `${key}='${value}'\n`)
        .join(""),
      { mode: 0o600 },
    );
    const wrangler = path.join(repoRoot, "node_modules/wrangler/bin/wrangler.js");
    const child = this.spawnChild(
      "edge",
      [
        wrangler,
        "dev",
        "--config",
        this.options.wranglerConfig,
        "--ip",
        "127.0.0.1",
        "--port",
        String(this.options.edgePort),
        "--inspector-port",
        String(this.options.inspectorPort),
        "--env-file",
        envFile,
        "--persist-to",
        path.join(this.options.dir, "edge"),
        "--show-interactive-dev-session=false",
        "--log-level",
        "warn",
      ],
      {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_LOG_PATH: path.join(this.options.dir, "logs"),
        // No request.cf lookup from Cloudflare: the local system must start offline.
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      },
    );
    await waitForHealth(`${this.info.edgeUrl}/v1/health`, "edge", child);
  }

  private region(name: string): LocalRegion {
    const region = this.info.regions.find((candidate) => candidate.name === name);
    if (!region) throw new Error(`no region named ${name}`);
    return region;
  }

  private spawnChild(source: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    // Once stopping, nothing may start again: a restart racing `stop` would leave a process behind.
    if (this.stopped) throw new Error(`not starting ${source}: the local system is stopping`);
    // Each child leads its own process group, so stopping it also stops what it started
    // (wrangler runs workerd) and a terminal's Ctrl-C reaches only this process, which then
    // shuts the children down in order.
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.set(source, child);
    for (const stream of [child.stdout, child.stderr]) {
      let pending = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) this.options.output(source, formatLine(line));
      });
    }
    whenEnded(
      child,
      (code, signal) => {
        if (!this.stopped && this.children.get(source) === child) {
          this.children.delete(source);
          this.onUnexpectedExit(source, code, signal);
        }
      },
      (error) => this.options.output(source, error.message),
    );
    return child;
  }
}

/**
 * Calls `ended` once `child` is gone: when it exits, or when it could not be started at all (its
 * executable gone, say, under an `npm ci` run meanwhile), which Node reports only as an `error`
 * event, with a negative exit code and no pid. Unheard, that error would end `npm start` and leave
 * the other processes running; taken as an exit, the supervisor retries it with backoff. Other
 * errors (a signal that could not be sent) are only reported: the process still runs.
 */
export function whenEnded(
  child: ChildProcess,
  ended: (code: number | null, signal: NodeJS.Signals | null) => void,
  report: (error: Error) => void,
): void {
  child.on("exit", ended);
  child.on("error", (error) => {
    report(error);
    if (child.pid === undefined) ended(child.exitCode, null);
  });
}

/**
 * Where region `name` of the system in `dir` keeps its PGlite folders. The key stores are beside the
 * data folders, not in them: a copy of data/ is a backup without the keys.
 */
export function regionFolders(dir: string, name: string): { dataDir: string; keystoreDir: string } {
  return { dataDir: path.join(dir, "data", name), keystoreDir: path.join(dir, "keys", name) };
}

/**
 * The extra environment `regionEnv` gives region `name`.
 * @example regionEnvOf((name) => ({ DATABASE_URL: `postgres://127.0.0.1/${name}` }), "eu-west")
 */
export function regionEnvOf(regionEnv: RegionEnv, name: string): Record<string, string> {
  return typeof regionEnv === "function" ? regionEnv(name) : regionEnv;
}

/** Pino's JSON lines, shortened for a terminal. */
function formatLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const event = JSON.parse(line) as Record<string, unknown>;
    const { level: _level, time: _time, pid: _pid, hostname: _hostname, msg, ...rest } = event;
    const fields = Object.entries(rest).map(
      ([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`,
    );
    return [msg, ...fields].filter(Boolean).join(" ");
  } catch {
    return line;
  }
}

function loadOrCreateSecrets(dir: string): Secrets {
  const secretsFile = path.join(dir, "secrets.json");
  const keyringFile = path.join(dir, "keyring.json");
  if (!existsSync(keyringFile)) {
    const keyring: KeyringConfig = { active: "local-1", keys: { "local-1": generateKeyMaterial() } };
    writeFileSync(keyringFile, `${JSON.stringify(keyring, null, 2)}\n`, { mode: 0o600 });
  }
  const existing = readJson<Partial<Secrets>>(secretsFile);
  if (
    existing?.keySecret &&
    existing.edgeSecret &&
    existing.peerSecret &&
    existing.adminSecret &&
    existing.spoolSecret &&
    existing.consoleSecret
  ) {
    return existing as Secrets;
  }
  // A folder from an older start keeps its key secret (the demo app's keys stay valid) and what
  // else it has; what is missing is added, and the retired shared region secret is dropped.
  const newSecret = () => toHex(randomBytes(32));
  const secrets: Secrets = {
    keySecret: existing?.keySecret ?? newSecret(),
    edgeSecret: existing?.edgeSecret ?? newSecret(),
    peerSecret: existing?.peerSecret ?? newSecret(),
    adminSecret: existing?.adminSecret ?? newSecret(),
    spoolSecret: existing?.spoolSecret ?? newSecret(),
    consoleSecret: existing?.consoleSecret ?? newSecret(),
  };
  writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : null;
}

/** Polls until `url` answers 2xx; gives up at once if `child` exits first (a crash at start). */
async function waitForHealth(url: string, source: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${source} exited (${child.signalCode ?? `code ${child.exitCode}`}) before it became healthy`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${source} did not become healthy at ${url} within ${startTimeoutMs / 1000} s`);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const deadline = Date.now() + stopTimeoutMs;
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => signalGroup(child, "SIGKILL"), stopTimeoutMs);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      signalGroup(child, signal);
    });
  }
  // The leader can exit before what it started (wrangler before workerd): wait for the whole
  // group, so that once `stop` returns no process of it is left.
  while (groupAlive(child) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (groupAlive(child)) signalGroup(child, "SIGKILL");
  return child.exitCode;
}

function groupAlive(child: ChildProcess): boolean {
  if (!child.pid) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}
