-- The operator handle's binding as one statement: the role `authenticated` and the verified JWT
-- claims (bound as Supabase's data API binds them, transaction-local, or statement-local outside a
-- transaction), then the caller's memberships read under them, so RLS applies to that read.
-- One statement, so operator-auth resolves membership in one round trip without a transaction of
-- its own, and asOperator's transaction binds with the same (by then prepared) statement.
-- Not SECURITY DEFINER: it may only switch to a role the caller may already switch to.
CREATE OR REPLACE FUNCTION app.bind_operator(p_claims text)
RETURNS TABLE (tenant_id uuid, tenant_name text, role public.member_role)
LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
BEGIN
  PERFORM set_config('role', 'authenticated', true),
    set_config('request.jwt.claims', p_claims, true),
    set_config('request.jwt.claim.sub', p_claims::jsonb ->> 'sub', true);
  RETURN QUERY SELECT m.tenant_id, t.name::text, m.role
    FROM public.tenant_members m JOIN public.tenants t ON t.id = m.tenant_id
    WHERE m.user_id = auth.uid()
    ORDER BY m.created_at, t.name;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.bind_operator(text) FROM PUBLIC;
