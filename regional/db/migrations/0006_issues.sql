CREATE TABLE "issue_devices" (
	"app_id" text NOT NULL,
	"group_id" text NOT NULL,
	"device_id" text NOT NULL,
	CONSTRAINT "issue_devices_app_id_group_id_device_id_pk" PRIMARY KEY("app_id","group_id","device_id")
);
--> statement-breakpoint
CREATE TABLE "issue_groups" (
	"app_id" text NOT NULL,
	"id" text NOT NULL,
	"signature" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"status_updated_at" timestamp (3) with time zone,
	"count" bigint NOT NULL,
	"devices" bigint NOT NULL,
	"app_versions" text[] NOT NULL,
	"first_seen" timestamp (3) with time zone NOT NULL,
	"last_seen" timestamp (3) with time zone NOT NULL,
	"last_received_at" timestamp (3) with time zone NOT NULL,
	"sealed_key_id" text NOT NULL,
	"title_wrapped" "bytea" NOT NULL,
	"title_ciphertext" "bytea" NOT NULL,
	"sample_wrapped" "bytea" NOT NULL,
	"sample_ciphertext" "bytea" NOT NULL,
	CONSTRAINT "issue_groups_app_id_id_pk" PRIMARY KEY("app_id","id")
);
--> statement-breakpoint
CREATE TABLE "issue_occurrences" (
	"app_id" text NOT NULL,
	"batch_id" text NOT NULL,
	"line_index" bigint NOT NULL,
	"group_id" text NOT NULL,
	"device_id" text NOT NULL,
	"ts" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "issue_occurrences_app_id_batch_id_line_index_pk" PRIMARY KEY("app_id","batch_id","line_index")
);
--> statement-breakpoint
CREATE TABLE "webhook_configs" (
	"app_id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_queue" (
	"id" serial PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"event" text NOT NULL,
	"group_id" text NOT NULL,
	"batch_id" text NOT NULL,
	"line_index" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "issue_groups_app_status_idx" ON "issue_groups" USING btree ("app_id","status","id");--> statement-breakpoint
CREATE INDEX "issue_occurrences_group_ts_idx" ON "issue_occurrences" USING btree ("app_id","group_id","ts");--> statement-breakpoint
CREATE INDEX "webhook_queue_next_attempt_idx" ON "webhook_queue" USING btree ("next_attempt_at");