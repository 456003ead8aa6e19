-- The start of every commit group and replicate call in one call (store/expiry.ts `lockBatchIds`):
-- the ids' advisory locks, then their apps' shared ones (each set in one order, so two groups
-- cannot deadlock), then, for each id, whether it is held here unexpired and its app's retention.
-- On PGlite each statement sent costs a round of calls into the database besides its own work;
-- this was three (the locks, the retention, `held_batches`), which it replaces. The function is
-- volatile, so its last statement reads a snapshot taken once the locks were granted: it sees
-- whatever the writer they waited for committed, as a separate statement did.
--
-- The lookup of 0011 was a join, which let the planner hash the asked ids and read every partition
-- whole: the plan is generic, made once per connection, often while the newest partition is empty,
-- and kept as it fills (PGlite never analyzes a table), so each group read a day's batches. Asked
-- for its earliest-expiring copy, each id is answered by every partition from its primary key
-- (app, batch, expiry), whose order no other index of `batches` gives: a probe per partition
-- however many batches it holds, and none past the partition that has the id.
CREATE FUNCTION "lock_batch_ids"("now_at" timestamptz, "app_ids" text[], "batch_ids" text[])
	RETURNS TABLE ("app_id" text, "batch_id" text, "held" boolean, "retention_days" integer)
	LANGUAGE plpgsql VOLATILE
	SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
	PERFORM count(pg_advisory_xact_lock("lock"))
	FROM (
		SELECT DISTINCT hashtextextended("asked"."app_id" || '/' || "asked"."batch_id", 0) AS "lock"
		FROM unnest("app_ids", "batch_ids") AS "asked"("app_id", "batch_id")
		ORDER BY 1
	) AS "ids";
	PERFORM count(pg_advisory_xact_lock_shared("lock"))
	FROM (SELECT DISTINCT hashtextextended("asked", 1) AS "lock" FROM unnest("app_ids") AS "asked" ORDER BY 1) AS "apps";
	RETURN QUERY
		SELECT "asked"."app_id", "asked"."batch_id", "found"."held" IS NOT NULL, "app"."retention_days"
		FROM unnest("app_ids", "batch_ids") AS "asked"("app_id", "batch_id")
		LEFT JOIN "apps" AS "app" ON "app"."id" = "asked"."app_id"
		LEFT JOIN LATERAL (
			SELECT true AS "held" FROM "batches" AS "stored"
			WHERE "stored"."app_id" = "asked"."app_id" AND "stored"."batch_id" = "asked"."batch_id" AND "stored"."expires_at" > "now_at"
			ORDER BY "stored"."expires_at"
			LIMIT 1
		) AS "found" ON true;
END $$;
--> statement-breakpoint
DROP FUNCTION "held_batches"(timestamptz, text[], text[]);
