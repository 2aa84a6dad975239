CREATE TABLE "model_prices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"model" text NOT NULL,
	"input_usd_per_million" double precision NOT NULL,
	"cached_input_usd_per_million" double precision NOT NULL,
	"output_usd_per_million" double precision NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_prices_tenant_model" UNIQUE("tenant_id","model"),
	CONSTRAINT "model_prices_range" CHECK ("model_prices"."input_usd_per_million" between 0 and 10000 and "model_prices"."cached_input_usd_per_million" between 0 and 10000 and "model_prices"."output_usd_per_million" between 0 and 10000)
);
--> statement-breakpoint
ALTER TABLE "model_prices" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "model_prices" ADD CONSTRAINT "model_prices_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "model_prices: members read" ON "model_prices" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("model_prices"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "model_prices: admins write" ON "model_prices" AS PERMISSIVE FOR ALL TO "authenticated" USING ("model_prices"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("model_prices"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "model_prices: worker of tenant" ON "model_prices" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("model_prices"."tenant_id" = app.current_tenant_id()) WITH CHECK ("model_prices"."tenant_id" = app.current_tenant_id());