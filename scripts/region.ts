/**
 * `npm run region -- <command> [name]`: takes a process of the running `npm start` down and
 * brings it back, to watch the system carry on without it. It talks to `npm start` through the
 * control channel in scripts/control.ts, found in STORMLOG_LOCAL_DIR (default .stormlog).
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { isErrorBody } from "../shared/errors.ts";
import { type Command, commands, processStatusSchema, readControlFile } from "./control.ts";
import { loadLocalConfig } from "./local-config.ts";
import type { ProcessStatus } from "./supervisor.ts";

const usage = `Usage: npm run region -- <command> [name]

  status         every process: up, starting, restarting or stopped, its pid and restarts
  kill <name>    SIGKILL, as a crash: npm start restarts it (after 1 s, doubling to 30 s while it keeps crashing)
  stop <name>    SIGTERM: it drains, exits, and stays down until start
  start <name>   start a stopped one, and wait until it is healthy

<name> is a region (eu-west, us-east, ap-south unless STORMLOG_LOCAL_REGIONS renamed them) or edge.

Options: --json  print JSON`;

// start waits for health, up to 90 s per process (scripts/local-system.ts).
const requestTimeoutMs = 120_000;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  const [command, name, ...rest] = positionals;
  const isCommand = commands.includes(command as Command);
  if (rest.length > 0 || !((command === "status" && !name) || (isCommand && name))) {
    console.error(usage);
    return 2;
  }
  const { dir } = loadLocalConfig();
  const control = readControlFile(dir);
  if (!control.ok) throw new Error(control.error);
  const { url, token } = control.value;
  const path = command === "status" ? "/v1/processes" : `/v1/processes/${encodeURIComponent(name ?? "")}/${command}`;
  const response = await fetch(`${url}${path}`, {
    method: command === "status" ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(requestTimeoutMs),
  }).catch((error: unknown) => {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      throw new Error(`npm start did not answer within ${requestTimeoutMs / 1000} s`);
    }
    throw new Error(
      `npm start is not running: nothing answers at ${url} (${dir}/control.json is left from a run that did not stop cleanly)`,
    );
  });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(isErrorBody(body) ? body.error.message : `npm start answered ${response.status}`);
  }
  const processes =
    command === "status"
      ? z.object({ processes: z.array(processStatusSchema) }).parse(body).processes
      : [z.object({ process: processStatusSchema }).parse(body).process];
  console.log(
    values.json
      ? JSON.stringify(command === "status" ? { processes } : processes[0], null, 2)
      : processes.map(formatStatus).join("\n"),
  );
  return 0;
}

function formatStatus(status: ProcessStatus): string {
  const parts = [status.name.padEnd(10), status.state.padEnd(10)];
  if (status.pid !== null) parts.push(`pid ${status.pid}`);
  if (status.nextAttemptInMs !== null) parts.push(`next try in ${(status.nextAttemptInMs / 1000).toFixed(1)} s`);
  parts.push(`restarts ${status.restarts}`);
  const exit = status.lastExit;
  if (exit) {
    const how = exit.signal ?? (exit.code === null ? "by a signal" : `code ${exit.code}`);
    parts.push(`last exit ${how} at ${exit.at}`);
  }
  return parts.join("  ");
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
