/**
 * Runs the whole Stormlog system on this machine: three regional workers (Node, each with its own
 * PGlite folder) and the edge on workerd (`wrangler dev`). `npm start` uses it, and so do the
 * cross-tier tests, which is why it can put everything under any folder and on any ports.
 *
 * Secrets for local use are generated on first start and kept in `<dir>/secrets.json` and
 * `<dir>/keyring.json` (mode 0600); a second start reuses them, the data and the demo app.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createApp } from "../regional/admin/cluster.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { generateKeyMaterial, type KeyringConfig } from "../shared/envelope.ts";
import type { Location, Region, RoutedRegion } from "../shared/regions.ts";

export type LocalSystemOptions = {
  /** Folder for data, secrets and local.json; `.stormlog` for `npm start`. */
  dir: string;
  regionNames?: string[];
  edgePort?: number;
  /** wrangler dev always opens a DevTools inspector; its port. */
  inspectorPort?: number;
  /** One port per region; by default 8701, 8702, … */
  regionPorts?: number[];
  /** Where child output goes; tests keep it quiet and show it on failure. */
  output?: (source: string, line: string) => void;
  /** How often the edge probes the regions (HEALTH_PROBE_INTERVAL_MS); wrangler.toml's default if unset. */
  healthProbeIntervalMs?: number;
  /**
   * The URL region `from` uses to reach its peer `to` (by default the peer's own URL); the chaos
   * harness puts a fault-injecting proxy there.
   */
  peerUrl?: (from: string, to: Region) => string;
  /** Extra environment for every region (replication timings, for instance). */
  regionEnv?: Record<string, string>;
  /** The edge's wrangler config (default the repo's wrangler.toml); tests pass one without a spool. */
  wranglerConfig?: string;
};

export type LocalInfo = {
  edgeUrl: string;
  regions: RoutedRegion[];
  app: { id: string; ingestKey: string; readKey: string };
};

type Secrets = { keySecret: string; regionSecret: string; spoolSecret: string };

const repoRoot = path.resolve(import.meta.dirname, "..");
const defaultRegions = ["eu-west", "us-east", "ap-south"];
/** Where the edge believes the local regions are (Dublin, Virginia, Mumbai), by position. */
const defaultLocations: Location[] = [
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
  private stopping = false;
  /** Called when a child exits while the system is meant to be running. */
  onUnexpectedExit: (source: string, code: number | null) => void = () => {};

  private constructor(options: Required<LocalSystemOptions>, info: LocalInfo) {
    this.options = options;
    this.info = info;
  }

  static async start(options: LocalSystemOptions): Promise<LocalSystem> {
    const regionNames = options.regionNames ?? defaultRegions;
    const resolved: Required<LocalSystemOptions> = {
      dir: path.resolve(options.dir),
      regionNames,
      edgePort: options.edgePort ?? 8787,
      inspectorPort: options.inspectorPort ?? 9230,
      regionPorts: options.regionPorts ?? regionNames.map((_, index) => 8701 + index),
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
    }));
    const edgeUrl = `http://127.0.0.1:${resolved.edgePort}`;
    const previous = readJson<LocalInfo>(path.join(resolved.dir, "local.json"));
    const system = new LocalSystem(resolved, {
      edgeUrl,
      regions,
      app: previous?.app ?? { id: "", ingestKey: "", readKey: "" },
    });
    try {
      await Promise.all(regions.map((region) => system.startRegion(region.name)));
      if (!previous?.app) {
        const app = await createApp({ regions, ...secrets }, "demo");
        const failed = app.outcomes.filter((outcome) => !outcome.ok);
        if (failed.length > 0) throw new Error(`could not provision the demo app: ${JSON.stringify(failed)}`);
        system.info.app = { id: app.id, ingestKey: app.ingestKey, readKey: app.readKey };
      }
      writeFileSync(path.join(resolved.dir, "local.json"), `${JSON.stringify(system.info, null, 2)}\n`, {
        mode: 0o600,
      });
      await system.startEdge(secrets);
      return system;
    } catch (error) {
      await system.stop();
      throw error;
    }
  }

  /** Starts (or restarts) one regional worker and waits until it reports healthy. */
  async startRegion(name: string): Promise<void> {
    const region = this.region(name);
    const { STORMLOG_REGIONS: _regions, DATABASE_URL: _databaseUrl, ...inherited } = process.env;
    this.spawnChild(name, [path.join(repoRoot, "regional/server.ts")], {
      ...inherited,
      STORMLOG_REGION: name,
      STORMLOG_HOST: "127.0.0.1",
      STORMLOG_PORT: new URL(region.url).port,
      STORMLOG_DATA_DIR: path.join(this.options.dir, "data", name),
      STORMLOG_REGION_SECRET: loadOrCreateSecrets(this.options.dir).regionSecret,
      STORMLOG_KEYRING_FILE: path.join(this.options.dir, "keyring.json"),
      STORMLOG_PEERS: JSON.stringify(
        this.info.regions
          .filter((peer) => peer.name !== name)
          .map((peer) => ({ name: peer.name, url: this.options.peerUrl(name, peer) })),
      ),
      ...this.options.regionEnv,
    });
    await waitForHealth(`${region.url}/v1/health`, name);
  }

  /** Sends a signal to one region without waiting: SIGKILL for a crash, SIGSTOP for a pause. */
  signalRegion(name: string, signal: NodeJS.Signals): void {
    const child = this.children.get(name);
    if (child) signalGroup(child, signal);
  }

  async stopRegion(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.children.get(name);
    if (!child) return null;
    this.children.delete(name);
    return stopChild(child, signal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const children = [...this.children.values()];
    this.children.clear();
    await Promise.all(children.map((child) => stopChild(child, "SIGTERM")));
  }

  private async startEdge(secrets: Secrets): Promise<void> {
    const envFile = path.join(this.options.dir, "edge.env");
    const vars = {
      REGIONS: JSON.stringify(this.info.regions),
      ...(this.options.healthProbeIntervalMs > 0
        ? { HEALTH_PROBE_INTERVAL_MS: String(this.options.healthProbeIntervalMs) }
        : {}),
      KEY_SECRET: secrets.keySecret,
      REGION_SECRET: secrets.regionSecret,
      SPOOL_SECRET: secrets.spoolSecret,
    };
    writeFileSync(
      envFile,
      Object.entries(vars)
        .map(([key, value]) => `${key}='${value}'\n`)
        .join(""),
      { mode: 0o600 },
    );
    const wrangler = path.join(repoRoot, "node_modules/wrangler/bin/wrangler.js");
    this.spawnChild(
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
    await waitForHealth(`${this.info.edgeUrl}/v1/health`, "edge");
  }

  private region(name: string): Region {
    const region = this.info.regions.find((candidate) => candidate.name === name);
    if (!region) throw new Error(`no region named ${name}`);
    return region;
  }

  private spawnChild(source: string, args: string[], env: NodeJS.ProcessEnv): void {
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
    child.on("exit", (code) => {
      if (!this.stopping && this.children.get(source) === child) {
        this.children.delete(source);
        this.onUnexpectedExit(source, code);
      }
    });
  }
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
  if (existing?.keySecret && existing.regionSecret && existing.spoolSecret) return existing as Secrets;
  // Keep what an older start generated (the apps' keys depend on it); add what is missing.
  const secrets: Secrets = {
    keySecret: existing?.keySecret ?? toHex(randomBytes(32)),
    regionSecret: existing?.regionSecret ?? toHex(randomBytes(32)),
    spoolSecret: existing?.spoolSecret ?? toHex(randomBytes(32)),
  };
  writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : null;
}

async function waitForHealth(url: string, source: string): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
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

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => signalGroup(child, "SIGKILL"), stopTimeoutMs);
    child.once("exit", (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    signalGroup(child, signal);
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}
