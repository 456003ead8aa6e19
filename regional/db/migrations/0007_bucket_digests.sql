-- Digests of what the region holds (issue 14), kept by triggers on `batches` in the transaction of
-- every change (schema/bucket-digests.ts): one statement-level trigger per kind of change, each
-- appending one row per (app, hour, expiry day) the statement touched. A statement whose changes
-- cancel out in a bucket (re-filing a retention moves rows between partitions, and back within a
-- day) appends nothing for it. The table is generated; the functions, triggers and backfill after
-- it are written by hand: drizzle-kit cannot declare triggers.
--
-- The version digest is the same text the previous MD5 digests hashed (batchId:origin:receivedAt
-- in epoch milliseconds); its two 64-bit halves are XOR-ed per bucket.
CREATE TABLE "bucket_digests" (
	"app_id" text NOT NULL,
	"hour" integer NOT NULL,
	"expires_day" integer NOT NULL,
	"batches" integer NOT NULL,
	"hash_high" bigint NOT NULL,
	"hash_low" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "bucket_digests_bucket_idx" ON "bucket_digests" USING btree ("app_id","hour","expires_day");--> statement-breakpoint
CREATE FUNCTION "batch_version_md5"("batch_id" text, "origin" text, "received_at" timestamptz) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN md5("batch_id" || ':' || "origin" || ':' || floor(extract(epoch from "received_at") * 1000)::bigint);--> statement-breakpoint
CREATE FUNCTION "batches_digest_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- Only the transition tables of this trigger's own event exist: each branch reads its own.
	IF TG_OP = 'INSERT' THEN
		INSERT INTO "bucket_digests" ("app_id", "hour", "expires_day", "batches", "hash_high", "hash_low")
		SELECT "app_id", "hour", "expires_day", count(*), bit_xor("hash_high"), bit_xor("hash_low")
		FROM (
			SELECT "app_id",
				floor(extract(epoch from "received_at") / 3600)::int AS "hour",
				floor(extract(epoch from "expires_at") / 86400)::int AS "expires_day",
				('x' || left("md5", 16))::bit(64)::bigint AS "hash_high",
				('x' || right("md5", 16))::bit(64)::bigint AS "hash_low"
			FROM (SELECT *, "batch_version_md5"("batch_id", "origin", "received_at") AS "md5" FROM "new_rows") AS "added"
		) AS "versions"
		GROUP BY 1, 2, 3;
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO "bucket_digests" ("app_id", "hour", "expires_day", "batches", "hash_high", "hash_low")
		SELECT "app_id", "hour", "expires_day", -count(*), bit_xor("hash_high"), bit_xor("hash_low")
		FROM (
			SELECT "app_id",
				floor(extract(epoch from "received_at") / 3600)::int AS "hour",
				floor(extract(epoch from "expires_at") / 86400)::int AS "expires_day",
				('x' || left("md5", 16))::bit(64)::bigint AS "hash_high",
				('x' || right("md5", 16))::bit(64)::bigint AS "hash_low"
			FROM (SELECT *, "batch_version_md5"("batch_id", "origin", "received_at") AS "md5" FROM "old_rows") AS "removed"
		) AS "versions"
		GROUP BY 1, 2, 3;
	ELSE
		INSERT INTO "bucket_digests" ("app_id", "hour", "expires_day", "batches", "hash_high", "hash_low")
		SELECT "app_id", "hour", "expires_day", sum("sign")::int, bit_xor("hash_high"), bit_xor("hash_low")
		FROM (
			SELECT "app_id", "sign",
				floor(extract(epoch from "received_at") / 3600)::int AS "hour",
				floor(extract(epoch from "expires_at") / 86400)::int AS "expires_day",
				('x' || left("md5", 16))::bit(64)::bigint AS "hash_high",
				('x' || right("md5", 16))::bit(64)::bigint AS "hash_low"
			FROM (
				SELECT "app_id", "received_at", "expires_at", -1 AS "sign",
					"batch_version_md5"("batch_id", "origin", "received_at") AS "md5"
				FROM "old_rows"
				UNION ALL
				SELECT "app_id", "received_at", "expires_at", 1,
					"batch_version_md5"("batch_id", "origin", "received_at")
				FROM "new_rows"
			) AS "changed"
		) AS "versions"
		GROUP BY 1, 2, 3
		HAVING sum("sign") <> 0 OR bit_xor("hash_high") <> 0 OR bit_xor("hash_low") <> 0;
	END IF;
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "batches_digest_insert" AFTER INSERT ON "batches"
	REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "batches_digest_changes"();--> statement-breakpoint
CREATE TRIGGER "batches_digest_update" AFTER UPDATE ON "batches"
	REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "batches_digest_changes"();--> statement-breakpoint
CREATE TRIGGER "batches_digest_delete" AFTER DELETE ON "batches"
	REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "batches_digest_changes"();--> statement-breakpoint
-- The batches already held, once. The triggers above exist first: creating them locks `batches`
-- against writes until this migration commits, so no write falls between the two.
INSERT INTO "bucket_digests" ("app_id", "hour", "expires_day", "batches", "hash_high", "hash_low")
SELECT "app_id", "hour", "expires_day", count(*), bit_xor("hash_high"), bit_xor("hash_low")
FROM (
	SELECT "app_id",
		floor(extract(epoch from "received_at") / 3600)::int AS "hour",
		floor(extract(epoch from "expires_at") / 86400)::int AS "expires_day",
		('x' || left("md5", 16))::bit(64)::bigint AS "hash_high",
		('x' || right("md5", 16))::bit(64)::bigint AS "hash_low"
	FROM (SELECT *, "batch_version_md5"("batch_id", "origin", "received_at") AS "md5" FROM "batches") AS "held"
) AS "versions"
GROUP BY 1, 2, 3;
