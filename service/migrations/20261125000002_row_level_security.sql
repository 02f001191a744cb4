-- Row-level security: the second wall between tenants.
--
-- The service connects as a superuser (the URL it is given), which bypasses RLS. So every
-- tenant-scoped transaction starts with `SET LOCAL ROLE hrms_app` and
-- `set_config('app.tenant_id', <tenant from the token>, true)`. `hrms_app` is NOLOGIN,
-- owns nothing and has no BYPASSRLS, so the policies below apply to it: a query that forgets
-- its `WHERE tenant_id = ...` still only sees the current tenant's rows.

DO $$
BEGIN
    -- Roles are cluster-wide; several databases (one per test) share one cluster.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hrms_app') THEN
        CREATE ROLE hrms_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO hrms_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    departments, employees, users, attendance, leave_balances, leave_requests,
    payroll_runs, payslips, idempotency_keys
    TO hrms_app;
-- Tenants are read-only for the app; platform tables (tenant_rate_limits) not at all.
GRANT SELECT ON tenants TO hrms_app;

-- The tenant of the current transaction, or NULL when none was set. NULLIF matters: after a
-- transaction that used `set_config(.., true)` ends, the setting reads '' (not NULL) on that
-- pooled connection, and ''::uuid would raise instead of matching nothing.
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = app_current_tenant());

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'departments', 'employees', 'users', 'attendance', 'leave_balances',
        'leave_requests', 'payroll_runs', 'payslips', 'idempotency_keys'
    ]
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        -- USING filters reads, updates and deletes; WITH CHECK refuses writing a row that
        -- names another tenant.
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
            'WITH CHECK (tenant_id = app_current_tenant())', t);
    END LOOP;
END
$$;

-- Login has no tenant yet: the email decides it. Rather than letting the app role read all
-- users, this one SECURITY DEFINER function (owned by the migrating superuser) returns the
-- single row for one email, and nothing else crosses tenants.
CREATE FUNCTION auth_lookup_user(p_email text)
    RETURNS TABLE (id uuid, tenant_id uuid, employee_id uuid, password_hash text, role text,
                   tier text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
        SELECT u.id, u.tenant_id, u.employee_id, u.password_hash, u.role, t.tier
        FROM users u JOIN tenants t ON t.id = u.tenant_id
        WHERE u.email = lower(p_email)
    $$;
REVOKE ALL ON FUNCTION auth_lookup_user(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_lookup_user(text) TO hrms_app;
