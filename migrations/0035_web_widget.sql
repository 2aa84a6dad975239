ALTER TYPE "public"."channel" ADD VALUE 'web';--> statement-breakpoint
CREATE TABLE "widgets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel_account_id" uuid NOT NULL,
	"allowed_origins" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"title" text DEFAULT '' NOT NULL,
	"color" text DEFAULT '#0b6e4f' NOT NULL,
	"greeting" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "widgets_channel_account" UNIQUE("channel_account_id"),
	CONSTRAINT "widgets_origins_array" CHECK (jsonb_typeof("widgets"."allowed_origins") = 'array'),
	CONSTRAINT "widgets_color" CHECK ("widgets"."color" ~ '^#[0-9a-fA-F]{6}$')
);
--> statement-breakpoint
ALTER TABLE "widgets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "email" text;--> statement-breakpoint
ALTER TABLE "widgets" ADD CONSTRAINT "widgets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "widgets" ADD CONSTRAINT "widgets_channel_account_id_channel_accounts_id_fk" FOREIGN KEY ("channel_account_id") REFERENCES "public"."channel_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "widgets: members read" ON "widgets" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("widgets"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "widgets: admins write" ON "widgets" AS PERMISSIVE FOR ALL TO "authenticated" USING ("widgets"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("widgets"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "widgets: worker of tenant" ON "widgets" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("widgets"."tenant_id" = app.current_tenant_id()) WITH CHECK ("widgets"."tenant_id" = app.current_tenant_id());