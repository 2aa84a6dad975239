CREATE TABLE "contact_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"author_user_id" uuid NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_notes_body" CHECK (char_length("contact_notes"."body") between 1 and 2000)
);
--> statement-breakpoint
ALTER TABLE "contact_notes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "labels" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "assigned_user_id" uuid;--> statement-breakpoint
ALTER TABLE "contact_notes" ADD CONSTRAINT "contact_notes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_notes" ADD CONSTRAINT "contact_notes_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_notes_contact_recent" ON "contact_notes" USING btree ("contact_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "conversations_tenant_assignee" ON "conversations" USING btree ("tenant_id","assigned_user_id") WHERE "conversations"."assigned_user_id" is not null;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_labels_array" CHECK (jsonb_typeof("conversations"."labels") = 'array');--> statement-breakpoint
CREATE POLICY "contact_notes: authored by the operator" ON "contact_notes" AS RESTRICTIVE FOR INSERT TO "authenticated" WITH CHECK ("contact_notes"."author_user_id" = auth.uid());--> statement-breakpoint
CREATE POLICY "contact_notes: members read" ON "contact_notes" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("contact_notes"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "contact_notes: members append" ON "contact_notes" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("contact_notes"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "contact_notes: worker of tenant" ON "contact_notes" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("contact_notes"."tenant_id" = app.current_tenant_id()) WITH CHECK ("contact_notes"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
-- The team of a business the signed-in operator belongs to, named for the assignment picker: a
-- member's display name when set, else their sign-in email. Operators cannot read auth.users (nor
-- on Supabase), so this SECURITY DEFINER function hands out only these columns, and only for a
-- tenant the caller is a member of (nothing otherwise).
CREATE OR REPLACE FUNCTION app.tenant_team(p_tenant_id uuid)
RETURNS TABLE (user_id uuid, role public.member_role, display_name text, email text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT m.user_id, m.role, m.display_name, u.email::text
  FROM public.tenant_members m
  JOIN auth.users u ON u.id = m.user_id
  WHERE m.tenant_id = p_tenant_id AND p_tenant_id IN (SELECT app.member_tenant_ids())
  ORDER BY m.created_at, m.user_id
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.tenant_team(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.tenant_team(uuid) TO authenticated;
