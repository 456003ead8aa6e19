// Upload admission: the in-flight bound and the age of the oldest upload still waiting to be stored.
import { describe, expect, it } from "vitest";
import { ApiError } from "../shared/errors.ts";
import { createUploadAdmission } from "./admission.ts";

function setup(config: { uploadsInFlightMax: number; uploadWaitMsMax: number }) {
  const clock = { nowMs: 1_000_000, now: () => clock.nowMs };
  let shed = 0;
  const admission = createUploadAdmission({ config, clock, onShed: () => shed++ });
  const refused = () => {
    try {
      admission.admit();
    } catch (error) {
      if (error instanceof ApiError) return error;
      throw error;
    }
    return null;
  };
  return { admission, clock, refused, shed: () => shed };
}

describe("upload admission", () => {
  it("refuses past the in-flight bound with 503 OVERLOADED and Retry-After, and admits again once one is done", () => {
    const { admission, refused, shed } = setup({ uploadsInFlightMax: 2, uploadWaitMsMax: 60_000 });
    const first = admission.admit();
    admission.admit();
    const error = refused();
    expect([error?.code, error?.status, error?.retryAfterSeconds]).toEqual(["OVERLOADED", 503, 1]);
    expect(shed()).toBe(1);
    first.done();
    first.done(); // twice is once
    expect(admission.inFlight).toBe(1);
    expect(refused()).toBeNull();
  });

  it("refuses while the oldest upload not yet stored has waited too long, not for one waiting on its peers", () => {
    const { admission, clock, refused } = setup({ uploadsInFlightMax: 100, uploadWaitMsMax: 500 });
    const slow = admission.admit();
    clock.nowMs += 499;
    const quick = admission.admit();
    quick.stored();
    clock.nowMs += 1;
    expect(refused()?.code).toBe("OVERLOADED");
    // Stored, it now waits for its quorum: that is the peers' time, not this region's queue.
    slow.stored();
    expect(refused()).toBeNull();
  });
});
