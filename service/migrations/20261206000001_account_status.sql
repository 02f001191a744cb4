-- Deactivation ends access (issue 15).
--
-- A user's account is active while it has no employee record (platform-style accounts) or
-- its employee is `active`. Login reads that here, in the one function that crosses tenants
-- for it; per-request checks read it through the same rule (`sessions.rs`).

DROP FUNCTION auth_lookup_user(text);

CREATE FUNCTION auth_lookup_user(p_email text)
    RETURNS TABLE (id uuid, tenant_id uuid, employee_id uuid, password_hash text, role text,
                   tier text, active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
        SELECT u.id, u.tenant_id, u.employee_id, u.password_hash, u.role, t.tier,
               (u.employee_id IS NULL OR e.status = 'active') AS active
        FROM users u
        JOIN tenants t ON t.id = u.tenant_id
        LEFT JOIN employees e ON e.tenant_id = u.tenant_id AND e.id = u.employee_id
        WHERE u.email = lower(p_email)
    $$;
REVOKE ALL ON FUNCTION auth_lookup_user(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_lookup_user(text) TO hrms_app;
