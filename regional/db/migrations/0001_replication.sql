CREATE TABLE "outbox" (
	"peer" text NOT NULL,
	"app_id" text NOT NULL,
	"batch_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "outbox_peer_app_id_batch_id_pk" PRIMARY KEY("peer","app_id","batch_id")
);
--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "origin" text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX "outbox_peer_next_attempt_idx" ON "outbox" USING btree ("peer","next_attempt_at");--> statement-breakpoint
CREATE INDEX "batches_app_received_at_idx" ON "batches" USING btree ("app_id","received_at");