/**
 * What an interrupted bench leaves behind: nothing. A bench's regions, wrangler and workerd run
 * detached, each leading its own process group as `npm start`'s do, so a terminal's Ctrl-C reaches
 * only the bench, which used to exit and leave them running, holding their ports and taking the
 * CPU of whatever ran next. A bench registers how to stop each thing it starts; on SIGINT, SIGTERM
 * or SIGHUP every registered stop runs, then the bench exits 130.
 */
const stops = new Set<() => Promise<unknown>>();
let interrupted = false;

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping what this bench started…\n`);
    void Promise.allSettled([...stops].map((stop) => stop())).then(() => process.exit(130));
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
