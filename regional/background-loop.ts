/**
 * A region's background work (the lifecycle run, autovacuum, webhooks): a step run at `start()`
 * and then `intervalMs` after each run ends, so runs never overlap. A run that fails is reported
 * and the next one comes at the interval. `stop()` cancels the next run and waits for the one in
 * progress. Before `start()` nothing runs: tests call their steps themselves.
 */
export type BackgroundLoop = { start(): void; stop(): Promise<void> };

export function backgroundLoop(options: {
  intervalMs: number;
  step: () => Promise<unknown>;
  onError: (error: unknown) => void;
}): BackgroundLoop {
  const { intervalMs, step, onError } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;

  function tick() {
    running = step()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
