-- Bootstrap: create what Supabase already provides, only where it is missing (plain Postgres,
-- PGlite), so every later migration runs unchanged on Supabase, on a Postgres server and embedded.
-- Roles are cluster-wide and test runs may create databases concurrently, hence the exception guards.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'switchboard_worker'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
END $$;
--> statement-breakpoint
-- The connecting user (postgres on Supabase and locally) switches into these roles per transaction.
GRANT anon, authenticated, switchboard_worker TO CURRENT_USER;
--> statement-breakpoint
CREATE SCHEMA IF NOT EXISTS auth;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS auth.users (
  id uuid PRIMARY KEY,
  email text UNIQUE,
  encrypted_password text,
  phone text,
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  raw_user_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- auth.uid() exactly as Supabase defines it (supabase/auth migration 20220224000811).
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'auth' AND p.proname = 'uid'
  ) THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
    GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
  END IF;
END $$;
--> statement-breakpoint
CREATE SCHEMA IF NOT EXISTS app;
--> statement-breakpoint
GRANT USAGE ON SCHEMA app TO authenticated, switchboard_worker;
--> statement-breakpoint
GRANT USAGE ON SCHEMA auth TO switchboard_worker;
--> statement-breakpoint
-- The tenant bound by the tenant handle (transaction-local), or null.
CREATE OR REPLACE FUNCTION app.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.tenant_id', true), '')::uuid
$$;
--> statement-breakpoint
-- Tenants the signed-in operator belongs to. SECURITY DEFINER so policies on tenant_members can use
-- it without recursing into their own RLS; plpgsql so it can be created before the table exists.
-- Policies use `tenant_id in (select app.member_tenant_ids())`, evaluated once per statement.
CREATE OR REPLACE FUNCTION app.member_tenant_ids() RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  RETURN QUERY SELECT m.tenant_id FROM public.tenant_members m WHERE m.user_id = auth.uid();
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app.tenant_ids_with_role(roles text[]) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  RETURN QUERY SELECT m.tenant_id FROM public.tenant_members m
    WHERE m.user_id = auth.uid() AND m.role::text = ANY (roles);
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.member_tenant_ids(), app.tenant_ids_with_role(text[]) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.member_tenant_ids(), app.tenant_ids_with_role(text[]), app.current_tenant_id()
  TO authenticated, switchboard_worker;
