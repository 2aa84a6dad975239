-- The operator binding for one business: the role `authenticated` and the verified JWT claims, as
-- app.bind_operator binds them, and the caller's role in that business, read under the binding
-- (RLS applies). Not a member → SQLSTATE 28000 (invalid authorization), so the statements sent
-- after it in the same transaction fail and nothing is read or written.
-- One statement that both binds and checks, so an operator's read is one round trip: BEGIN, this,
-- the read and COMMIT written together (db/client.ts readAsMember), without a membership query
-- of its own before.
-- Not SECURITY DEFINER: it may only switch to a role the caller may already switch to.
CREATE OR REPLACE FUNCTION app.bind_operator_to(p_claims text, p_tenant_id uuid)
RETURNS public.member_role
LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
  v_role public.member_role;
BEGIN
  PERFORM set_config('role', 'authenticated', true),
    set_config('request.jwt.claims', p_claims, true),
    set_config('request.jwt.claim.sub', p_claims::jsonb ->> 'sub', true);
  SELECT m.role INTO v_role FROM public.tenant_members m
    WHERE m.user_id = auth.uid() AND m.tenant_id = p_tenant_id;
  IF v_role IS NULL THEN
    RAISE EXCEPTION 'not a member of this business' USING ERRCODE = '28000';
  END IF;
  RETURN v_role;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.bind_operator_to(text, uuid) FROM PUBLIC;
