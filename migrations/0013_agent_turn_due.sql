-- One agent turn per conversation per debounce window (docs/agent.md §1): the due time of the
-- turn scheduled for a conversation, and the index a turn uses to find the messages that arrived
-- since the conversation's last finished run started.
ALTER TABLE "conversations" ADD COLUMN "agent_turn_due_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "agent_runs_conversation_started" ON "agent_runs" USING btree ("conversation_id","started_at");