-- The duplicate lookup (0011) as a join let the planner hash the asked ids and read every partition
-- whole: its generic plan is made once, often while a partition is new and looks empty, and kept as
-- that partition fills (PGlite never analyzes a table), so each commit group read a day's batches.
-- Asked one id at a time, the earliest-expiring copy first, each partition answers from its primary
-- key (app, batch, expiry) by the key's own order, which no other index of `batches` gives: a probe per
-- partition, however many batches they hold, and none past the partition that has the id.
CREATE OR REPLACE FUNCTION "held_batches"("now_at" timestamptz, "app_ids" text[], "batch_ids" text[])
	RETURNS TABLE ("app_id" text, "batch_id" text)
	LANGUAGE plpgsql STABLE
	SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
	RETURN QUERY
		SELECT "asked"."app_id", "asked"."batch_id"
		FROM unnest("app_ids", "batch_ids") AS "asked"("app_id", "batch_id")
		CROSS JOIN LATERAL (
			SELECT 1 FROM "batches" AS "held"
			WHERE "held"."app_id" = "asked"."app_id" AND "held"."batch_id" = "asked"."batch_id" AND "held"."expires_at" > "now_at"
			ORDER BY "held"."expires_at"
			LIMIT 1
		) AS "found";
END $$;
