-- What drizzle-kit cannot declare for the appointment tables (0015).
--
-- No double booking, enforced by Postgres: two active (pending or confirmed) appointments of one
-- staff member never overlap, buffers included, however many bookings race for a slot. A losing
-- insert or update fails with SQLSTATE 23P01 (exclusion_violation), which db/appointments.ts turns
-- into a ConflictError. btree_gist gives uuid equality a GiST operator class so staff_id and the
-- period share one index. It ships with Postgres (contrib), Supabase and the embedded PGlite
-- (loaded in dev/embedded-postgres.ts); it goes into `extensions` as unaccent does (0008).
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA extensions;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_no_overlap"
  EXCLUDE USING gist ("staff_id" WITH =, "period" WITH &&)
  WHERE ("status" IN ('pending', 'confirmed'));
--> statement-breakpoint
-- A staff member linked to a user must be a member of the same tenant; when the membership ends
-- the staff member stays (with their appointments) and only the link goes. SET NULL (user_id)
-- needs Postgres 15.
ALTER TABLE "staff" ADD CONSTRAINT "staff_member_fk" FOREIGN KEY ("tenant_id", "user_id")
  REFERENCES "public"."tenant_members" ("tenant_id", "user_id") ON DELETE SET NULL ("user_id");
