-- Retention (issue 12). Apps get a retention and the time it was last set; batches move into a
-- table partitioned by the day they expire on (store/partitions.ts keeps the partitions), so
-- expiring a day is one DROP TABLE. Written by hand: drizzle-kit cannot declare partitioning, but
-- the snapshot beside this file matches the schema in regional/db/schema.
ALTER TABLE "apps" ADD COLUMN "retention_days" integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "settings_updated_at" timestamp (3) with time zone DEFAULT 'epoch' NOT NULL;--> statement-breakpoint
CREATE TABLE "batches_partitioned" (
	"app_id" text NOT NULL,
	"batch_id" text NOT NULL,
	"device_id" text NOT NULL,
	"received_at" timestamp (3) with time zone NOT NULL,
	"first_ts" timestamp (3) with time zone NOT NULL,
	"last_ts" timestamp (3) with time zone NOT NULL,
	"line_count" integer NOT NULL,
	"trace_count" integer NOT NULL,
	"debug_count" integer NOT NULL,
	"info_count" integer NOT NULL,
	"warn_count" integer NOT NULL,
	"error_count" integer NOT NULL,
	"fatal_count" integer NOT NULL,
	"key_id" text NOT NULL,
	"wrapped_key" bytea NOT NULL,
	"ciphertext" bytea NOT NULL,
	"origin" text DEFAULT '' NOT NULL,
	"seal_format" smallint DEFAULT 1 NOT NULL,
	"txid" bigint DEFAULT pg_current_xact_id()::text::bigint NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"stored_bytes" integer NOT NULL,
	CONSTRAINT "batches_app_id_batch_id_expires_at_pk" PRIMARY KEY("app_id","batch_id","expires_at"),
	CONSTRAINT "batches_span_check" CHECK ("first_ts" <= "last_ts")
) PARTITION BY RANGE ("expires_at");--> statement-breakpoint
-- Existing rows keep the default retention (30 days from receipt): one partition per day they
-- expire on, named and bounded as store/partitions.ts names and bounds them.
DO $$
DECLARE
	expiry_day date;
BEGIN
	FOR expiry_day IN
		SELECT DISTINCT (("received_at" + interval '30 days') AT TIME ZONE 'UTC')::date FROM "batches"
	LOOP
		EXECUTE format(
			'CREATE TABLE %I PARTITION OF "batches_partitioned" FOR VALUES FROM (%L) TO (%L)',
			'batches_p' || to_char(expiry_day, 'YYYYMMDD'),
			expiry_day::timestamp AT TIME ZONE 'UTC',
			(expiry_day + 1)::timestamp AT TIME ZONE 'UTC'
		);
	END LOOP;
END
$$;--> statement-breakpoint
INSERT INTO "batches_partitioned" (
	"app_id", "batch_id", "device_id", "received_at", "first_ts", "last_ts", "line_count",
	"trace_count", "debug_count", "info_count", "warn_count", "error_count", "fatal_count",
	"key_id", "wrapped_key", "ciphertext", "origin", "seal_format", "txid", "expires_at", "stored_bytes"
)
SELECT
	"app_id", "batch_id", "device_id", "received_at", "first_ts", "last_ts", "line_count",
	"trace_count", "debug_count", "info_count", "warn_count", "error_count", "fatal_count",
	"key_id", "wrapped_key", "ciphertext", "origin", "seal_format", "txid",
	"received_at" + interval '30 days', octet_length("wrapped_key") + octet_length("ciphertext")
FROM "batches";--> statement-breakpoint
DROP TABLE "batches";--> statement-breakpoint
ALTER TABLE "batches_partitioned" RENAME TO "batches";--> statement-breakpoint
-- The same indexes as before; on a partitioned table each is created on every partition, now and
-- when a partition is created later.
CREATE INDEX "batches_app_first_ts_idx" ON "batches" USING btree ("app_id","first_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_device_first_ts_idx" ON "batches" USING btree ("app_id","device_id","first_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_received_at_idx" ON "batches" USING btree ("app_id","received_at");--> statement-breakpoint
CREATE INDEX "batches_app_last_ts_idx" ON "batches" USING btree ("app_id","last_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_device_last_ts_idx" ON "batches" USING btree ("app_id","device_id","last_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_txid_idx" ON "batches" USING btree ("app_id","txid","batch_id");--> statement-breakpoint
-- A device lasts as long as its last batch.
ALTER TABLE "devices" ADD COLUMN "expires_at" timestamp (3) with time zone;--> statement-breakpoint
UPDATE "devices" AS d SET "expires_at" = s.expires_at
FROM (SELECT "app_id", "device_id", max("expires_at") AS expires_at FROM "batches" GROUP BY "app_id", "device_id") AS s
WHERE d."app_id" = s."app_id" AND d."device_id" = s."device_id";--> statement-breakpoint
UPDATE "devices" SET "expires_at" = now() WHERE "expires_at" IS NULL;--> statement-breakpoint
ALTER TABLE "devices" ALTER COLUMN "expires_at" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "devices_expires_at_idx" ON "devices" USING btree ("expires_at");
