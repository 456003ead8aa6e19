CREATE TABLE "app_keys" (
	"app_id" text NOT NULL,
	"key_id" text NOT NULL,
	"kek_id" text NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "app_keys_app_id_key_id_pk" PRIMARY KEY("app_id","key_id")
);
--> statement-breakpoint
CREATE TABLE "device_keys" (
	"app_id" text NOT NULL,
	"device_id" text NOT NULL,
	"key_id" text NOT NULL,
	"app_key_id" text NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "device_keys_app_id_key_id_pk" PRIMARY KEY("app_id","key_id")
);
--> statement-breakpoint
CREATE TABLE "erasures" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"device_id" text,
	"requested_at" timestamp (3) with time zone NOT NULL,
	"completed_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE INDEX "device_keys_device_idx" ON "device_keys" USING btree ("app_id","device_id","created_at");--> statement-breakpoint
CREATE INDEX "erasures_app_device_idx" ON "erasures" USING btree ("app_id","device_id");