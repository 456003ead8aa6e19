/**
 * What the Node side of the edge tests (global-setup.ts, the region stubs) and the workerd side
 * (the *.test.ts files) agree on: the secrets the test Worker runs with, the stub URLs handed
 * over with vitest's provide/inject, and the shape of the stub's record of what reached it.
 */
import type { SignatureFailure } from "../../shared/signing.ts";

export const testKeySecret = "edge-tests-key-secret-0123456789abcdef";
export const testEdgeSecret = "edge-tests-edge-secret-0123456789abcdef";
export const testSpoolSecret = "edge-tests-spool-secret-0123456789abcdef";
export const testConsoleSecret = "edge-tests-console-secret-0123456789abcdef";
/** Requests per app per minute that TEST_UPLOAD_RATE_LIMIT and TEST_READ_RATE_LIMIT allow. */
export const testRateLimit = 3;

/** A call whose body holds this fails in every stub region with its own 500 INTERNAL. */
export const poisonMarker = "stub-fails-on-this";

/** Base URLs of the stand-in regions, all on 127.0.0.1. */
export type StubUrls = {
  /** Answers like a region (eu-west): verifies signatures, stores batches in memory. */
  eu: string;
  /** A second answering region (us-east), with its own store. */
  us: string;
  /** A port nothing listens on: connection refused. */
  refused: string;
  /** Accepts the request and never answers. */
  silent: string;
  /** Answers a bare 500 (no error body of its own) to everything. */
  broken: string;
};

/** One call that reached a stub (any of them), as `GET /__stub/received` lists it. */
export type Received = {
  stub: string;
  method: string;
  pathAndQuery: string;
  requestId: string | null;
  /** The app key a read carried (the region checks it), or null. */
  appKey: string | null;
  body: string;
  signature: "ok" | SignatureFailure;
};

declare module "vitest" {
  export interface ProvidedContext {
    stubs: StubUrls;
    /** An ingest key that the stub regions list as revoked from the start. */
    revokedKey: string;
  }
}
