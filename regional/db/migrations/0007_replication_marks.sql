CREATE TABLE "replication_marks" (
	"peer" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "origin_seq" bigint;--> statement-breakpoint
CREATE INDEX "batches_origin_seq_idx" ON "batches" USING btree ("origin_seq") WHERE "batches"."origin_seq" is not null;