CREATE TABLE "api_keys" (
	"hash" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"kind" text NOT NULL,
	"label" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "apps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "batches" (
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
	"wrapped_key" "bytea" NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	CONSTRAINT "batches_app_id_batch_id_pk" PRIMARY KEY("app_id","batch_id"),
	CONSTRAINT "batches_span_check" CHECK ("batches"."first_ts" <= "batches"."last_ts")
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"app_id" text NOT NULL,
	"device_id" text NOT NULL,
	"name" text,
	"model" text,
	"os" text,
	"os_version" text,
	"app_version" text,
	"app_build" text,
	"locale" text,
	"first_seen" timestamp (3) with time zone NOT NULL,
	"last_seen" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "devices_app_id_device_id_pk" PRIMARY KEY("app_id","device_id")
);
--> statement-breakpoint
CREATE INDEX "api_keys_app_idx" ON "api_keys" USING btree ("app_id");--> statement-breakpoint
CREATE INDEX "batches_app_first_ts_idx" ON "batches" USING btree ("app_id","first_ts","batch_id");--> statement-breakpoint
CREATE INDEX "batches_app_device_first_ts_idx" ON "batches" USING btree ("app_id","device_id","first_ts","batch_id");--> statement-breakpoint
CREATE INDEX "devices_app_last_seen_idx" ON "devices" USING btree ("app_id","last_seen");