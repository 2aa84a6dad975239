-- These columns were all called created_at by a shared helper; their names now say what they hold
-- (a message's arrival, a webhook's arrival, a run's start, a consent record's time), so raw SQL
-- and readers no longer have to remember which created_at means what.
ALTER TABLE "messages" RENAME COLUMN "created_at" TO "received_at";
--> statement-breakpoint
ALTER TABLE "webhook_events" RENAME COLUMN "created_at" TO "received_at";
--> statement-breakpoint
ALTER TABLE "agent_runs" RENAME COLUMN "created_at" TO "started_at";
--> statement-breakpoint
ALTER TABLE "opt_ins" RENAME COLUMN "created_at" TO "recorded_at";
