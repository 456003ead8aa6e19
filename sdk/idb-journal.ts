/**
 * The browser journal: ops in an IndexedDB object store with auto-incremented keys, so loading
 * them in key order replays them in the order they were written. An append is one readwrite
 * transaction with strict durability, resolved on `complete` (committed to disk); a compaction
 * clears the store and writes the snapshot in one transaction, so a crash leaves either the old
 * journal or the new one. IndexedDB is shared by the page's tabs: one database per endpoint and
 * app key, and the SDK expects one client per database.
 */
import type { Journal, Op } from "./types.ts";

/** The slice of the IndexedDB API used here (typed locally: the SDK does not need lib.dom). */
type Request<T> = { result: T; error: unknown; onsuccess: (() => void) | null; onerror: (() => void) | null };
type Store = { add(value: unknown): unknown; clear(): unknown; getAll(): Request<unknown[]> };
type Transaction = {
  objectStore(name: string): Store;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  error: unknown;
};
type Database = {
  transaction(store: string, mode: "readonly" | "readwrite", options?: { durability: "strict" }): Transaction;
  createObjectStore(name: string, options: { autoIncrement: boolean }): Store;
  close(): void;
};
type OpenRequest = Request<Database> & { onupgradeneeded: (() => void) | null };
export type IndexedDbFactory = { open(name: string, version: number): OpenRequest };

const storeName = "ops";

export function createIdbJournal(factory: IndexedDbFactory, name: string): Journal {
  let bytes = 0;
  const opened = new Promise<Database>((resolve, reject) => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName, { autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  const write = async (ops: Op[], clearFirst: boolean): Promise<void> => {
    const db = await opened;
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(storeName, "readwrite", { durability: "strict" });
      const store = tx.objectStore(storeName);
      if (clearFirst) store.clear();
      for (const op of ops) store.add(op);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    const written = ops.reduce((sum, op) => sum + JSON.stringify(op).length, 0);
    bytes = clearFirst ? written : bytes + written;
  };

  return {
    async load() {
      const db = await opened;
      const ops = await new Promise<Op[]>((resolve, reject) => {
        const request = db.transaction(storeName, "readonly").objectStore(storeName).getAll();
        request.onsuccess = () => resolve(request.result as Op[]);
        request.onerror = () => reject(request.error);
      });
      bytes = ops.reduce((sum, op) => sum + JSON.stringify(op).length, 0);
      return ops;
    },
    append: (ops) => write(ops, false),
    compact: (ops) => write(ops, true),
    size: () => bytes,
    async close() {
      (await opened).close();
    },
  };
}
