-- Digest rows carry the minute of receipt (issue 14, anti-entropy of the hour still running): a
-- region compares settled hours as before and, of the hour the settling horizon falls in, each
-- settled minute, so a batch one region missed is repaired minutes after it was received, not
-- after its hour ended. Reads fold the rows of hours older than the last two into minute -1.
ALTER TABLE "bucket_digests" ADD COLUMN "minute" smallint DEFAULT -1 NOT NULL;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "batches_digest_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	"md5" text;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		"md5" := md5(OLD."batch_id" || ':' || OLD."origin" || ':' || floor(extract(epoch from OLD."received_at") * 1000)::bigint);
		INSERT INTO "bucket_digests" ("app_id", "hour", "minute", "expires_day", "batches", "hash_high", "hash_low")
		VALUES (OLD."app_id", floor(extract(epoch from OLD."received_at") / 3600)::int,
			(floor(extract(epoch from OLD."received_at") / 60)::bigint % 60)::smallint,
			floor(extract(epoch from OLD."expires_at") / 86400)::int, -1,
			('x' || left("md5", 16))::bit(64)::bigint, ('x' || right("md5", 16))::bit(64)::bigint);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		"md5" := md5(NEW."batch_id" || ':' || NEW."origin" || ':' || floor(extract(epoch from NEW."received_at") * 1000)::bigint);
		INSERT INTO "bucket_digests" ("app_id", "hour", "minute", "expires_day", "batches", "hash_high", "hash_low")
		VALUES (NEW."app_id", floor(extract(epoch from NEW."received_at") / 3600)::int,
			(floor(extract(epoch from NEW."received_at") / 60)::bigint % 60)::smallint,
			floor(extract(epoch from NEW."expires_at") / 86400)::int, 1,
			('x' || left("md5", 16))::bit(64)::bigint, ('x' || right("md5", 16))::bit(64)::bigint);
	END IF;
	RETURN NULL;
END $$;--> statement-breakpoint
-- The last two hours' rows again, minute by minute (the function above runs for writes from here
-- on; this migration's transaction holds the trigger's table lock, so no write falls between).
LOCK TABLE "batches" IN SHARE MODE;--> statement-breakpoint
DELETE FROM "bucket_digests" WHERE "hour" >= floor(extract(epoch from now()) / 3600)::int - 1;--> statement-breakpoint
INSERT INTO "bucket_digests" ("app_id", "hour", "minute", "expires_day", "batches", "hash_high", "hash_low")
SELECT "app_id", "hour", "minute", "expires_day", count(*), bit_xor("hash_high"), bit_xor("hash_low")
FROM (
	SELECT "app_id",
		floor(extract(epoch from "received_at") / 3600)::int AS "hour",
		(floor(extract(epoch from "received_at") / 60)::bigint % 60)::smallint AS "minute",
		floor(extract(epoch from "expires_at") / 86400)::int AS "expires_day",
		('x' || left("md5", 16))::bit(64)::bigint AS "hash_high",
		('x' || right("md5", 16))::bit(64)::bigint AS "hash_low"
	FROM (SELECT *, "batch_version_md5"("batch_id", "origin", "received_at") AS "md5" FROM "batches"
		WHERE "received_at" >= to_timestamp((floor(extract(epoch from now()) / 3600) - 1) * 3600)) AS "held"
) AS "versions"
GROUP BY 1, 2, 3, 4;
