/**
 * A signed call whose answer is JSON of a known shape: the one way a tier reads another's answer
 * (peers, the admin CLI, benches and test helpers). The answer is parsed with its schema from
 * `shared/`, never cast, and every way it can fail is a value with a `retryable` flag: no answer
 * (signed-fetch.ts), a refusal (a non-2xx, with the error body when it is one of ours), or a 2xx
 * that is not what the schema says (`malformed`).
 */
import type { z } from "zod";
import { describeIssues } from "./batch.ts";
import { type ErrorBody, parseErrorBody } from "./errors.ts";
import { err, ok, type Result } from "./result.ts";
import { type CallFailure, fetchTransport, type SignedCall, signCall, type Transport } from "./signed-fetch.ts";

/** A non-2xx answer: retryable when the other side may take it later (5xx, 401 during a secret rollout, 429). */
export type CallRefused = {
  kind: "refused";
  retryable: boolean;
  status: number;
  /** The answer's error body, when it is a Stormlog one. */
  error: ErrorBody | null;
  text: string;
  message: string;
};

/** A 2xx whose body is not the JSON the schema describes. */
export type CallMalformed = { kind: "malformed"; retryable: true; status: number; message: string };

export type JsonCallFailure = CallFailure | CallRefused | CallMalformed;

/** A 2xx answer, parsed: its status (200, 201, 202 …) and body. */
export type JsonAnswer<T> = { status: number; body: T };

/**
 * Sends `call` (on `transport`, `fetch` unless given) and parses a 2xx answer with `schema`.
 *
 * @example
 * const digests = await signedJson(call, digestsResponseSchema);
 * if (!digests.ok) return digests; // decide on digests.error.kind / .retryable
 * digests.value.body.buckets;
 */
export async function signedJson<S extends z.ZodType>(
  call: SignedCall,
  schema: S,
  transport: Transport = fetchTransport,
): Promise<Result<JsonAnswer<z.output<S>>, JsonCallFailure>> {
  const answered = await transport(await signCall(call));
  if (!answered.ok) return answered;
  const { status, text } = answered.value;
  const who = call.signer.audience;
  if (status < 200 || status > 299) {
    return err({
      kind: "refused",
      retryable: status >= 500 || status === 401 || status === 429,
      status,
      error: parseErrorBody(text),
      text,
      message: `${who} answered ${status}: ${text.slice(0, 200)}`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err({ kind: "malformed", retryable: true, status, message: `${who} answered ${status} with no JSON` });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return err({
      kind: "malformed",
      retryable: true,
      status,
      message: `${who}: ${describeIssues(parsed.error, "answer")}`,
    });
  }
  return ok({ status, body: parsed.data });
}
