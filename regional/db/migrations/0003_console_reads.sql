ALTER TABLE "batches" ADD COLUMN "txid" bigint DEFAULT pg_current_xact_id()::text::bigint NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "trace_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "debug_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "info_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "warn_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "error_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "fatal_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "batch_span_ms_max" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "batches_app_last_ts_idx" ON "batches" USING btree ("app_id","last_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_device_last_ts_idx" ON "batches" USING btree ("app_id","device_id","last_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_txid_idx" ON "batches" USING btree ("app_id","txid","batch_id");--> statement-breakpoint
CREATE INDEX "devices_app_span_idx" ON "devices" USING btree ("app_id","batch_span_ms_max");--> statement-breakpoint
-- Backfill: devices' line counts and widest batch span from the clear metadata every batch row already holds.
UPDATE "devices" AS d SET
	"trace_count" = s.trace, "debug_count" = s.debug, "info_count" = s.info,
	"warn_count" = s.warn, "error_count" = s.error, "fatal_count" = s.fatal,
	"batch_span_ms_max" = s.span
FROM (
	SELECT "app_id", "device_id",
		sum("trace_count") AS trace, sum("debug_count") AS debug, sum("info_count") AS info,
		sum("warn_count") AS warn, sum("error_count") AS error, sum("fatal_count") AS fatal,
		ceil(max(extract(epoch FROM "last_ts" - "first_ts") * 1000))::integer AS span
	FROM "batches" GROUP BY "app_id", "device_id"
) AS s
WHERE d."app_id" = s."app_id" AND d."device_id" = s."device_id";
