/** What an app with no logs yet shows: how to send the first one, with curl or the SDK. */
import { CopyButton } from "../shell/status.tsx";

export function FirstLog({ appId }: { appId: string }) {
  const origin = location.origin;
  const curl = `curl -sS -X POST ${origin}/v1/batches \\
  -H 'Authorization: Bearer <INGEST_KEY>' \\
  -H 'Content-Type: application/json' \\
  -d '{"batchId":"first-batch-0001","device":{"id":"my-device"},"logs":[{"ts":"${new Date().toISOString()}","level":"info","text":"hello from curl"}]}'`;
  const sdk = `import { init } from "@stormlog/sdk";

const log = init({ appKey: "<INGEST_KEY>", endpoint: "${origin}" });
log.info("hello from the SDK", { tag: "start", attrs: { screen: "home" } });`;
  return (
    <section class="first-log" aria-labelledby="first-log-title">
      <h2 id="first-log-title">No logs yet for app {appId}</h2>
      <p>
        Send the first one with the app's <strong>ingest key</strong> (the read or manage key you signed in with cannot
        upload):
      </p>
      <h3>curl</h3>
      <pre>{curl}</pre>
      <CopyButton text={curl} label="Copy the curl command" />
      <h3>SDK</h3>
      <pre>{sdk}</pre>
      <CopyButton text={sdk} label="Copy the SDK snippet" />
    </section>
  );
}
