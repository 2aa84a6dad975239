CREATE TABLE "canned_replies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"title" text NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "canned_replies" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "canned_replies" ADD CONSTRAINT "canned_replies_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "canned_replies_tenant_title" ON "canned_replies" USING btree ("tenant_id","title");--> statement-breakpoint
CREATE INDEX "canned_replies_tenant" ON "canned_replies" USING btree ("tenant_id","updated_at");--> statement-breakpoint
CREATE POLICY "canned_replies: members read" ON "canned_replies" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("canned_replies"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "canned_replies: admins write" ON "canned_replies" AS PERMISSIVE FOR ALL TO "authenticated" USING ("canned_replies"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("canned_replies"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "canned_replies: worker of tenant" ON "canned_replies" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("canned_replies"."tenant_id" = app.current_tenant_id()) WITH CHECK ("canned_replies"."tenant_id" = app.current_tenant_id());