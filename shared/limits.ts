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
  /** Lines one read may return. */
  readLimitMax: 1000,
  readLimitDefault: 100,
} as const;
