/**
 * How a region sends its calls to its peers: on undici's `request` (shared/signed-fetch.ts
 * `Transport`), not on `fetch`. Node's `fetch` is built on the same client, plus the web's
 * Request, Response, Headers and streams for every call; a replicate call of one batch cost its
 * sender about 1.1 ms of CPU that way and 0.1 ms on `request` (both kept-alive, same machine), and
 * a region sends two for every upload it takes. Failures mean what they mean for `fetch`.
 */
import { Agent, request } from "undici";
import { err, ok } from "../shared/result.ts";
import { callFailure, connectionLost, type Transport } from "../shared/signed-fetch.ts";

/** Kept-alive connections to each peer, as `fetch`'s global client keeps them. */
const dispatcher = new Agent({ keepAliveTimeout: 10_000 });

export const regionTransport: Transport = async ({ url, method, headers, body, timeoutMs }) => {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, { method, headers, body, signal, dispatcher });
  } catch (error) {
    return err(callFailure(error, timeoutMs));
  }
  try {
    return ok({ status: response.statusCode, text: await response.body.text() });
  } catch (error) {
    return err(signal.aborted ? callFailure(error, timeoutMs) : connectionLost);
  }
};
