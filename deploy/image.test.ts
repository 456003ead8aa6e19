/**
 * What the container image runs, without a Docker engine: the files the Dockerfile copies (after
 * .dockerignore), a production-only `npm ci` in a temporary folder, then the Dockerfile's exact
 * CMD on the pinned Node 22, with only the environment the README documents. The region must
 * migrate its database, become ready, serve the admin CLI from the same install, write nothing
 * outside its data folder, and exit 0 on SIGTERM.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/ports.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "..");
/** The image's runtime is Node 22 (type stripping); here, the project's pinned Node 22. */
const node = path.join(repoRoot, "node_modules/.bin/node");
const dockerfile = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
const shutdownTimeoutMs = 5000;

/** Dockerfile instructions, continuation lines joined. */
function instructions(): { op: string; args: string }[] {
  return dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [op = "", ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/** .dockerignore as Docker reads it: later patterns win, `!` re-includes. */
function dockerignore(): (relative: string) => boolean {
  const rules = readFileSync(path.join(repoRoot, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const include = line.startsWith("!");
      const glob = (include ? line.slice(1) : line).replace(/\/$/, "");
      const source = glob
        .split("**/")
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]]/g, "\\$&")
            .replace(/\*\*/g, ".*")
            .replace(/\*/g, "[^/]*"),
        )
        .join("(?:.*/)?");
      return { include, pattern: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (relative) => {
    let ignored = false;
    for (const rule of rules) if (rule.pattern.test(relative)) ignored = !rule.include;
    return ignored;
  };
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

/** The variables the README's "Container image" section documents. */
function documentedEnv(): Set<string> {
  const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const section = readme.split(/^## Container image$/m)[1]?.split(/^## /m)[0] ?? "";
  const configuration = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? "";
  return new Set(
    [...`${section}\n${configuration}`.matchAll(/`([A-Z][A-Z0-9_]+)[`=]/g)].map((match) => match[1] as string),
  );
}

let appDir: string;
let dataDir: string;
let port: number;
let child: ChildProcess;
const output: string[] = [];
const ignored = dockerignore();
const steps = instructions();
const runtime = steps.slice(steps.findLastIndex((step) => step.op === "FROM"));

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), "stormlog-image-"));
  appDir = path.join(root, "app");
  dataDir = path.join(root, "data");
  mkdirSync(appDir);
  mkdirSync(dataDir);
  // The build context's files, placed where the runtime stage's COPY instructions put them.
  for (const step of runtime.filter((s) => s.op === "COPY" && !s.args.startsWith("--from"))) {
    const parts = step.args.split(/\s+/);
    const destination = parts.pop() as string;
    for (const source of parts) {
      const target = destination.endsWith("/")
        ? path.join(appDir, destination, path.basename(source))
        : path.join(appDir, destination);
      cpSync(path.join(repoRoot, source), target, {
        recursive: true,
        filter: (from) => from === path.join(repoRoot, source) || !ignored(path.relative(repoRoot, from)),
      });
    }
  }
  const install = steps.find((step) => step.op === "RUN" && step.args.startsWith("npm ci"));
  expect(install?.args).toContain("--omit=dev");
  const npmArgs = (install?.args.split("&&")[0] ?? "").trim().split(/\s+/).slice(1);
  await run("npm", npmArgs, { cwd: appDir, timeout: 120_000 });
}, 180_000);

afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  if (appDir) rmSync(path.dirname(appDir), { recursive: true, force: true });
});

describe("the container image's start command", () => {
  it("is multi-stage, runs as a non-root user under an init, with a health check and a data volume", () => {
    expect(steps.filter((step) => step.op === "FROM").length).toBeGreaterThan(1);
    const user = runtime.find((step) => step.op === "USER")?.args ?? "root";
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.find((step) => step.op === "HEALTHCHECK")?.args).toContain("/readyz");
    expect(runtime.find((step) => step.op === "VOLUME")?.args).toContain("/data");
    expect(runtime.find((step) => step.op === "ENTRYPOINT")?.args).toContain("tini");
  });

  it("copies only production files and installs only production dependencies", () => {
    expect(existsSync(path.join(appDir, "regional/server.ts"))).toBe(true);
    expect(existsSync(path.join(appDir, "regional/db/migrations"))).toBe(true);
    expect(listFiles(path.join(appDir, "regional")).some((file) => file.endsWith(".test.ts"))).toBe(false);
    expect(existsSync(path.join(appDir, "node_modules/hono"))).toBe(true);
    for (const dev of ["vitest", "wrangler", "typescript", "kubernetes-models"]) {
      expect(existsSync(path.join(appDir, "node_modules", dev))).toBe(false);
    }
  });

  it("migrates, serves, runs the admin CLI and drains on SIGTERM, reading only documented variables", async () => {
    const cmd = JSON.parse(runtime.find((step) => step.op === "CMD")?.args ?? "[]") as string[];
    expect(cmd[0]).toBe("node");
    const imageEnv = Object.fromEntries(
      [...(runtime.find((step) => step.op === "ENV")?.args ?? "").matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    expect(imageEnv.STORMLOG_DATA_DIR).toBe("/data");
    expect(imageEnv.STORMLOG_KEYSTORE_DIR).toBe("/keys");
    // The admin listener stays on loopback unless told otherwise: the image does not publish it.
    expect(imageEnv.STORMLOG_ADMIN_HOST).toBeUndefined();
    port = await freePort();
    const adminPort = await freePort();
    const adminSecret = "a".repeat(40);
    const env: Record<string, string> = {
      ...imageEnv,
      // The volume and the port mapping of `docker run`, here.
      STORMLOG_DATA_DIR: dataDir,
      STORMLOG_KEYSTORE_DIR: `${dataDir}-keys`,
      STORMLOG_HOST: "127.0.0.1",
      STORMLOG_PORT: String(port),
      STORMLOG_ADMIN_PORT: String(adminPort),
      STORMLOG_REGION: "eu-west",
      STORMLOG_EDGE_SECRET: "e".repeat(40),
      STORMLOG_PEER_SECRET: "p".repeat(40),
      STORMLOG_ADMIN_SECRET: adminSecret,
      STORMLOG_KEYRING: JSON.stringify({ active: "k1", keys: { k1: generateKeyMaterial() } }),
      STORMLOG_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
    };
    const documented = documentedEnv();
    for (const name of Object.keys(env)) expect(documented, `${name} is documented`).toContain(name);
    const before = listFiles(appDir).sort();

    child = spawn(node, cmd.slice(1), { cwd: appDir, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk) => output.push(String(chunk)));
    child.stderr?.on("data", (chunk) => output.push(String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready, output.join("")).toBe(true);
    const health = (await (await fetch(`${url}/v1/health`)).json()) as { database: { kind: string } };
    expect(health.database.kind).toBe("pglite");
    expect(readdirSync(dataDir).length).toBeGreaterThan(0);

    // The same install runs the admin CLI (`docker exec … node regional/admin/cli.ts`), against
    // the admin listener.
    const adminEnv = {
      STORMLOG_REGIONS: JSON.stringify([{ name: "eu-west", url: `http://127.0.0.1:${adminPort}` }]),
      STORMLOG_KEY_SECRET: "k".repeat(40),
      STORMLOG_ADMIN_SECRET: adminSecret,
    };
    for (const name of Object.keys(adminEnv)) expect(documented, `${name} is documented`).toContain(name);
    const created = await run(node, ["regional/admin/cli.ts", "apps", "create", "image-demo", "--json"], {
      cwd: appDir,
      env: adminEnv,
    });
    const app = JSON.parse(created.stdout) as { id: string; ingestKey: string };
    expect(app.ingestKey).toMatch(/^sl_ingest_/);
    const listed = await run(node, ["regional/admin/cli.ts", "apps", "list", "--json"], { cwd: appDir, env: adminEnv });
    expect((JSON.parse(listed.stdout) as { apps: { id: string }[] }).apps.map((a) => a.id)).toContain(app.id);

    const stoppedAt = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(shutdownTimeoutMs + 2000);
    // Read-only root filesystem: the process wrote nothing beside its data volume.
    expect(listFiles(appDir).sort()).toEqual(before);
  });
});
