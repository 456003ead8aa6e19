/**
 * Every bound on what a client may send, in one place. The edge enforces them before anything is
 * forwarded; regions enforce them again because they never trust their caller. Units come last.
 */
export const limits = {
  /** Bytes on the wire for one upload, compressed or not. */
  requestBytesMax: 1024 * 1024,
  /** Bytes of JSON after decompression; a gzip bomb is cut off here while it streams. */
  inflatedBytesMax: 5 * 1024 * 1024,
  /** Log lines in one batch. */
  batchLinesMax: 1000,
  /** UTF-8 bytes of one line's text. */
  lineTextBytesMax: 16 * 1024,
  /** UTF-8 bytes of one line's attrs, serialized as JSON. */
  lineAttrsBytesMax: 4 * 1024,
  /** Length of ids and short fields (batch id, device id, tag, method, file, device info). */
  idLengthMax: 128,
  shortFieldLengthMax: 256,
  /**
   * Nesting of objects and arrays in any request body, checked without recursion before anything
   * walks the body, so no input can overflow a stack.
   */
  bodyDepthMax: 128,
  /** Nesting of a line's attrs: the attrs object is level 1. */
  attrsDepthMax: 16,
  /** Nesting of an OTLP AnyValue (arrayValue, kvlistValue): a plain value is level 1. */
  anyValueDepthMax: 16,
  /**
   * Milliseconds between a batch's first and last line. A batch is read by every page whose
   * window it overlaps, so a batch claiming years would be opened by every read; a device back
   * from a long time offline sends several batches instead (the SDK and the adapters split).
   */
  batchSpanMsMax: 24 * 60 * 60 * 1000,
  /** Lines and batches one OTLP or Bugfender request may carry or make. */
  adapterLinesMax: 5000,
  adapterBatchesMax: 20,
  /** Lines one read may return. */
  readLimitMax: 1000,
  readLimitDefault: 100,
  /**
   * What one read page may open past its start: batches, and stored (sealed) bytes. A page that
   * reaches either stops early and its cursor says where to go on.
   */
  readBatchesOpenedMax: 200,
  readStoredBytesOpenedMax: 16 * 1024 * 1024,
  /**
   * Batches one read page may pass over unopened, their search filter having ruled them out (a few
   * microseconds and about a kilobyte read each), before it stops early as above.
   */
  readBatchesFilteredMax: 50_000,
  /**
   * Milliseconds one read page may spend reading and opening batches before it stops early as
   * above: well under the edge's 2 s per region, so a page that would take longer (a rare word
   * over millions of lines: about 100 µs per filter passed over on PGlite) comes back partial,
   * with its cursor, instead of timing out in each region in turn.
   */
  readPageMsMax: 1000,
  /** Devices one page of `GET /v1/devices` may list. */
  devicesPageMax: 500,
  devicesPageDefault: 100,
  /** Buckets of the volume histogram, and the widest window it covers (one aggregate over batches). */
  volumeBucketsMax: 500,
  volumeBucketsDefault: 60,
  volumeWindowMsMax: 400 * 24 * 60 * 60 * 1000,
  volumeWindowMsDefault: 24 * 60 * 60 * 1000,
  /**
   * How far back in arrival time a live tail looks when a region other than the one that issued
   * its cursor serves it (a failover): the lines it may have missed are at most this old.
   */
  tailFailoverLookbackMs: 60 * 1000,
} as const;
