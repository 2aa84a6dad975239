ALTER TABLE "agent_runs" ADD COLUMN "cost_usd" double precision;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "ai_monthly_budget_usd" double precision;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "ai_budget_hard_stop" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "agent_runs_tenant_started" ON "agent_runs" USING btree ("tenant_id","started_at");--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD CONSTRAINT "tenant_settings_ai_budget" CHECK ("tenant_settings"."ai_monthly_budget_usd" is null or ("tenant_settings"."ai_monthly_budget_usd" > 0 and "tenant_settings"."ai_monthly_budget_usd" <= 1000000));