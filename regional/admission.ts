/**
 * Upload admission: a region sheds load early instead of letting a queue build until the uploads
 * in it time out waiting for their quorum (503 QUORUM_UNAVAILABLE after the batch was stored,
 * which is work done for nothing, and worse if the caller then stores it elsewhere too).
 *
 * An upload is admitted when it arrives, before its body is read or anything stored, unless the
 * region is already working on `uploadsInFlightMax` uploads, or the oldest upload that is still
 * waiting to be stored has waited `uploadWaitMsMax` (the store, or the group commit in front of it,
 * is behind). Refused, the caller gets 503 OVERLOADED with Retry-After: nothing was stored, so the
 * edge may try another region at once, and a busy region is not a down one (its breaker stays
 * closed). Only the wait before the store counts towards the age: an upload waiting for its peers
 * says the peers are slow, not that this region is busy, and the quorum timeout bounds it anyway.
 */
import type { Clock } from "../shared/clock.ts";
import { ApiError } from "../shared/errors.ts";

export type OverloadConfig = {
  /** Uploads this region works on at once (from arrival to answer); past it, 503 OVERLOADED. */
  uploadsInFlightMax: number;
  /** Age of the oldest upload not yet stored past which new ones are refused. */
  uploadWaitMsMax: number;
};

export const overloadDefaults: OverloadConfig = {
  uploadsInFlightMax: 256,
  // Well inside the default quorum timeout (1.5 s): refuse while an upload admitted now could
  // still be acknowledged in time.
  uploadWaitMsMax: 500,
};

/** Seconds an overloaded region asks the caller to wait (the edge tries another region meanwhile). */
export const overloadedRetryAfterSeconds = 1;

/** One admitted upload: `stored()` once it no longer waits for the store, `done()` once answered. */
export type Admitted = { stored(): void; done(): void };

export interface UploadAdmission {
  /** Admits an upload, or throws 503 OVERLOADED (counted in `onShed`). */
  admit(): Admitted;
  readonly inFlight: number;
}

export function createUploadAdmission(options: {
  config: OverloadConfig;
  clock: Clock;
  onShed: () => void;
}): UploadAdmission {
  const { config, clock } = options;
  let inFlight = 0;
  let nextTicket = 0;
  // Arrival times of uploads not yet stored, in arrival order (a Map iterates as inserted), so
  // the first entry is the oldest.
  const waiting = new Map<number, number>();

  function overloaded(): string | null {
    if (inFlight >= config.uploadsInFlightMax)
      return `${inFlight} uploads in flight, at most ${config.uploadsInFlightMax}`;
    const oldest = waiting.values().next();
    if (!oldest.done) {
      const waitedMs = clock.now() - oldest.value;
      if (waitedMs >= config.uploadWaitMsMax) {
        return `the oldest upload has waited ${waitedMs} ms to be stored, at most ${config.uploadWaitMsMax}`;
      }
    }
    return null;
  }

  return {
    get inFlight() {
      return inFlight;
    },
    admit() {
      const reason = overloaded();
      if (reason !== null) {
        options.onShed();
        throw new ApiError("OVERLOADED", `region overloaded (${reason}); nothing stored, retry`, {
          retryAfterSeconds: overloadedRetryAfterSeconds,
        });
      }
      const ticket = nextTicket++;
      inFlight += 1;
      waiting.set(ticket, clock.now());
      let finished = false;
      return {
        stored: () => waiting.delete(ticket),
        done() {
          if (finished) return;
          finished = true;
          waiting.delete(ticket);
          inFlight -= 1;
        },
      };
    },
  };
}
