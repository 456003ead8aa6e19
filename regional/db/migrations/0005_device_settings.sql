CREATE TABLE "device_settings" (
	"app_id" text NOT NULL,
	"scope" text NOT NULL,
	"value" text NOT NULL,
	"enabled" boolean NOT NULL,
	"min_level" text NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "device_settings_app_id_scope_value_pk" PRIMARY KEY("app_id","scope","value")
);
