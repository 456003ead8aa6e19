-- Digests of what the region holds (issue 14), kept by triggers on `batches` in the transaction of
-- every change (schema/bucket-digests.ts): each row written appends +1 and its hash, each row
-- removed -1 and its hash, to its (app, hour, expiry day); an update of a version or expiry both.
-- Row-level, not statement-level with transition tables: those cost about a millisecond more per
-- single-row insert on PGlite (a tuplestore and a grouped INSERT … SELECT per statement), and
-- nearly every write is one row; a bulk statement (re-filing) appends two rows per row it moves,
-- which the next read folds. The table is generated; the functions, triggers and backfill after
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
DECLARE
	"md5" text;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		"md5" := md5(OLD."batch_id" || ':' || OLD."origin" || ':' || floor(extract(epoch from OLD."received_at") * 1000)::bigint);
		INSERT INTO "bucket_digests" VALUES (OLD."app_id", floor(extract(epoch from OLD."received_at") / 3600)::int,
			floor(extract(epoch from OLD."expires_at") / 86400)::int, -1,
			('x' || left("md5", 16))::bit(64)::bigint, ('x' || right("md5", 16))::bit(64)::bigint);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		"md5" := md5(NEW."batch_id" || ':' || NEW."origin" || ':' || floor(extract(epoch from NEW."received_at") * 1000)::bigint);
		INSERT INTO "bucket_digests" VALUES (NEW."app_id", floor(extract(epoch from NEW."received_at") / 3600)::int,
			floor(extract(epoch from NEW."expires_at") / 86400)::int, 1,
			('x' || left("md5", 16))::bit(64)::bigint, ('x' || right("md5", 16))::bit(64)::bigint);
	END IF;
	RETURN NULL;
END $$;--> statement-breakpoint
-- Row-level, on the partitioned table (PostgreSQL clones them onto every partition, those created
-- later too). An UPDATE that moves a row to another partition fires the DELETE and INSERT ones.
CREATE TRIGGER "batches_digest" AFTER INSERT OR DELETE ON "batches"
	FOR EACH ROW EXECUTE FUNCTION "batches_digest_changes"();--> statement-breakpoint
CREATE TRIGGER "batches_digest_update" AFTER UPDATE ON "batches" FOR EACH ROW
	WHEN (OLD."app_id" IS DISTINCT FROM NEW."app_id" OR OLD."batch_id" IS DISTINCT FROM NEW."batch_id"
		OR OLD."origin" IS DISTINCT FROM NEW."origin" OR OLD."received_at" IS DISTINCT FROM NEW."received_at"
		OR OLD."expires_at" IS DISTINCT FROM NEW."expires_at")
	EXECUTE FUNCTION "batches_digest_changes"();--> statement-breakpoint
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
