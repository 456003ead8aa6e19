/**
 * What an interrupted bench leaves behind: nothing. A bench's regions, wrangler and workerd run
 * detached, each leading its own process group as `npm start`'s do, so a terminal's Ctrl-C reaches
 * only the bench, which used to exit and leave them running, holding their ports and taking the
 * CPU of whatever ran next. A bench registers how to stop each thing it starts; on SIGINT, SIGTERM
 * or SIGHUP every registered stop runs, then the bench exits 130. Its own flow, whose step the
 * stop cut short, ends through `exit`, which leaves that to the interrupt.
 */
const stops = new Set<() => Promise<unknown>>();
let stopping: Promise<void> | null = null;

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    process.stderr.write(`\n${signal}: stopping what this bench started…\n`);
    stopping = Promise.allSettled([...stops].map((stop) => stop())).then(() => process.exit(130));
  });
}

/**
 * Runs `stop` if the bench is interrupted before the returned function is called. Register a
 * start before awaiting it (`stop` awaiting the start), so an interrupt during start-up still
 * stops what it started.
 * @example const starting = LocalSystem.start(options);
 *          const forget = stopOnInterrupt(async () => (await starting).stop());
 */
export function stopOnInterrupt(stop: () => Promise<unknown>): () => void {
  stops.add(stop);
  return () => {
    stops.delete(stop);
  };
}

/** Whether the bench was interrupted: a step failing now failed because its system was stopped. */
export function interrupted(): boolean {
  return stopping !== null;
}

/** Exits with `code`, or, once interrupted, when the stops are done, with 130. */
export async function exit(code: number): Promise<never> {
  if (stopping) await stopping;
  process.exit(code);
}
