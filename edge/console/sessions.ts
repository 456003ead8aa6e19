/**
 * ConsoleSessions: the one place a console session's read key is kept (a SQLite-backed Durable
 * Object, one for the whole deployment), so the key never sits in the browser: the cookie
 * (cookie.ts) holds only random session ids. Also holds the one-time sign-in links, consumed by
 * their first use. Rows past their expiry are never answered and are swept on every write.
 */
import { DurableObject } from "cloudflare:workers";
import { randomBytes, toHex } from "../../shared/encoding.ts";

/** What a session or a sign-in link stands for. */
export type SessionGrant = { appId: string; key: string; expiresAtMs: number };

export class ConsoleSessions extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS grants (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, app_id TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL
      )`,
    );
  }

  /** A new session or sign-in link for this app and key; returns its id (the link's token). */
  create(kind: "session" | "link", appId: string, key: string, ttlMs: number): { id: string; expiresAtMs: number } {
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM grants WHERE expires_at <= ?", now);
    const id = toHex(randomBytes(32));
    const expiresAtMs = now + ttlMs;
    this.ctx.storage.sql.exec(
      "INSERT INTO grants (id, kind, app_id, key, expires_at) VALUES (?, ?, ?, ?, ?)",
      id,
      kind,
      appId,
      key,
      expiresAtMs,
    );
    return { id, expiresAtMs };
  }

  /** The live sessions among these ids. */
  sessions(ids: string[]): Record<string, SessionGrant> {
    const found: Record<string, SessionGrant> = {};
    const now = Date.now();
    for (const id of ids) {
      const row = this.ctx.storage.sql
        .exec<{ app_id: string; key: string; expires_at: number }>(
          "SELECT app_id, key, expires_at FROM grants WHERE id = ? AND kind = 'session' AND expires_at > ?",
          id,
          now,
        )
        .toArray()[0];
      if (row) found[id] = { appId: row.app_id, key: row.key, expiresAtMs: row.expires_at };
    }
    return found;
  }

  /** A sign-in link's grant, once: the link is gone after this call whether it was live or not. */
  consumeLink(token: string): SessionGrant | null {
    const row = this.ctx.storage.sql
      .exec<{ app_id: string; key: string; expires_at: number }>(
        "SELECT app_id, key, expires_at FROM grants WHERE id = ? AND kind = 'link'",
        token,
      )
      .toArray()[0];
    this.ctx.storage.sql.exec("DELETE FROM grants WHERE id = ? AND kind = 'link'", token);
    if (!row || row.expires_at <= Date.now()) return null;
    return { appId: row.app_id, key: row.key, expiresAtMs: row.expires_at };
  }

  /** Ends these sessions (sign-out): their cookie is refused from then on. */
  end(ids: string[]): void {
    for (const id of ids) this.ctx.storage.sql.exec("DELETE FROM grants WHERE id = ? AND kind = 'session'", id);
  }
}
