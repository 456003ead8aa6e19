-- Which of these batch ids a region holds unexpired (store/expiry.ts `heldBatches`): asked in the
-- transaction of every upload group and every replicate call, after the ids are locked. `batches`
-- is partitioned by the day a batch expires, and a batch id may be in any partition, so the lookup
-- looks in all of them (a month's retention: about 31). Planned per call, as a plain statement is,
-- that cost PostgreSQL 2.6 ms and PGlite 9 ms before reading anything; a PL/pgSQL function keeps
-- its plan for the connection, and a generic plan (the expiry bound a parameter, pruned when the
-- plan runs) is planned once per connection and again only when a partition comes or goes.
CREATE FUNCTION "held_batches"("now_at" timestamptz, "app_ids" text[], "batch_ids" text[])
	RETURNS TABLE ("app_id" text, "batch_id" text)
	LANGUAGE plpgsql STABLE
	SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
	RETURN QUERY
		SELECT "held"."app_id", "held"."batch_id"
		FROM unnest("app_ids", "batch_ids") AS "asked"("app_id", "batch_id")
		JOIN "batches" AS "held" ON "held"."app_id" = "asked"."app_id" AND "held"."batch_id" = "asked"."batch_id"
		WHERE "held"."expires_at" > "now_at";
END $$;
