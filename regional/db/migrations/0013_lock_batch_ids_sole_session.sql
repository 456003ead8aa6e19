-- `lock_batch_ids` as in 0012, taking its advisory locks only when asked (`take_locks`). The locks
-- order sessions: two processes of a region on one PostgreSQL database. PGlite is one session in
-- one process, whose transactions already run one at a time, so there the locks order nothing,
-- and they were a fifth of the call's cost (about 170 of 900 µs for two ids, with a month of
-- partitions), which every commit group and replicate call pays.
-- A new overload beside the three-argument one, not in its place: in a rolling upgrade on
-- PostgreSQL the region's processes of the previous version still call that one, and dropping it
-- under them would fail their uploads until they were replaced. A later version drops it.
CREATE FUNCTION "lock_batch_ids"("now_at" timestamptz, "app_ids" text[], "batch_ids" text[], "take_locks" boolean)
	RETURNS TABLE ("app_id" text, "batch_id" text, "held" boolean, "retention_days" integer)
	LANGUAGE plpgsql VOLATILE
	SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
	IF "take_locks" THEN
		PERFORM count(pg_advisory_xact_lock("lock"))
		FROM (
			SELECT DISTINCT hashtextextended("asked"."app_id" || '/' || "asked"."batch_id", 0) AS "lock"
			FROM unnest("app_ids", "batch_ids") AS "asked"("app_id", "batch_id")
			ORDER BY 1
		) AS "ids";
		PERFORM count(pg_advisory_xact_lock_shared("lock"))
		FROM (SELECT DISTINCT hashtextextended("asked", 1) AS "lock" FROM unnest("app_ids") AS "asked" ORDER BY 1) AS "apps";
	END IF;
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
