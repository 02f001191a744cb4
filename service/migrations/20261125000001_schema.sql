-- Core schema of the reference HRMS.
--
-- Every tenant-scoped table carries `tenant_id` and, where another table points at it, a
-- composite key `(tenant_id, id)`: foreign keys then name both columns, so a row can never
-- reference a row of another tenant even if application code forgets to check. Row-level
-- security (next migration) is the second wall; these keys are the first.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    -- Rate-limit tier; the text values match the service's `Tier` (serde lowercase).
    tier        text NOT NULL DEFAULT 'free'
                CHECK (tier IN ('free', 'starter', 'professional', 'enterprise')),
    -- A unique string the harness plants in every row of this tenant so that a response
    -- leaking another tenant's data can be recognised by plain substring search.
    marker      text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE departments (
    id                   uuid NOT NULL,
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                 text NOT NULL,
    -- Filled after employees exist (see the ALTER below): departments and employees point
    -- at each other.
    manager_employee_id  uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE employees (
    id             uuid NOT NULL,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    department_id  uuid,
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    email          text NOT NULL,
    job_title      text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    -- Money in integer cents: payroll arithmetic must not round.
    salary_cents   bigint NOT NULL DEFAULT 0 CHECK (salary_cents >= 0),
    hired_on       date NOT NULL DEFAULT CURRENT_DATE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (id),
    UNIQUE (tenant_id, email),
    FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
);

-- The employee list is the hottest read: paginated by name within a tenant, often filtered.
CREATE INDEX employees_list_idx ON employees (tenant_id, last_name, first_name, id);
CREATE INDEX employees_department_idx ON employees (tenant_id, department_id);

ALTER TABLE departments
    ADD FOREIGN KEY (tenant_id, manager_employee_id) REFERENCES employees (tenant_id, id);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    employee_id    uuid,
    -- Globally unique: login finds the tenant from the email, never from the request.
    email          text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('employee', 'manager', 'hr_admin')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);

CREATE TABLE attendance (
    id           uuid NOT NULL,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    employee_id  uuid NOT NULL,
    clock_in     timestamptz NOT NULL,
    clock_out    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    CHECK (clock_out IS NULL OR clock_out >= clock_in)
);

-- "One open shift per employee" is enforced here, not by a read-then-write race in the app.
CREATE UNIQUE INDEX attendance_one_open_shift ON attendance (tenant_id, employee_id)
    WHERE clock_out IS NULL;
CREATE INDEX attendance_history_idx ON attendance (tenant_id, employee_id, clock_in);

CREATE TABLE leave_balances (
    tenant_id      uuid NOT NULL,
    employee_id    uuid NOT NULL,
    leave_type     text NOT NULL CHECK (leave_type IN ('annual', 'sick', 'unpaid')),
    year           integer NOT NULL,
    entitled_days  integer NOT NULL CHECK (entitled_days >= 0),
    used_days      integer NOT NULL DEFAULT 0 CHECK (used_days >= 0),
    PRIMARY KEY (tenant_id, employee_id, leave_type, year),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    -- Approval deducts inside one transaction; this makes overdrawing impossible even under
    -- concurrent approvals.
    CHECK (used_days <= entitled_days)
);

CREATE TABLE leave_requests (
    id           uuid NOT NULL,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    employee_id  uuid NOT NULL,
    leave_type   text NOT NULL CHECK (leave_type IN ('annual', 'sick', 'unpaid')),
    start_date   date NOT NULL,
    end_date     date NOT NULL,
    days         integer NOT NULL CHECK (days > 0),
    reason       text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by   uuid,
    decided_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    CHECK (end_date >= start_date)
);
CREATE INDEX leave_requests_employee_idx ON leave_requests (tenant_id, employee_id, created_at);

CREATE TABLE payroll_runs (
    id             uuid NOT NULL,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    period_start   date NOT NULL,
    period_end     date NOT NULL,
    status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    employee_count integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    completed_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (id),
    CHECK (period_end >= period_start)
);

CREATE TABLE payslips (
    id                uuid NOT NULL,
    tenant_id         uuid NOT NULL,
    run_id            uuid NOT NULL,
    employee_id       uuid NOT NULL,
    gross_cents       bigint NOT NULL,
    tax_cents         bigint NOT NULL,
    net_cents         bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES payroll_runs (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    -- The idempotency of the payroll job: a retried or restarted batch inserts with
    -- ON CONFLICT DO NOTHING and can never produce a second payslip.
    UNIQUE (tenant_id, run_id, employee_id)
);

-- Stored outcomes of writes sent with an Idempotency-Key. The key row is inserted in the
-- same transaction as the write it guards, so "row written" and "key recorded" commit or
-- roll back together; a concurrent retry blocks on the primary key until the first commits.
CREATE TABLE idempotency_keys (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key             text NOT NULL,
    -- "POST /employees": the same key reused on another route is a client bug (422).
    route           text NOT NULL,
    status_code     smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- Per-tenant rate-limit overrides set by the platform operator; loaded into the limiter at
-- start and pushed to it on change.
CREATE TABLE tenant_rate_limits (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    class           text NOT NULL CHECK (class IN ('read', 'write', 'heavy')),
    capacity        integer NOT NULL CHECK (capacity > 0),
    refill_per_sec  double precision NOT NULL CHECK (refill_per_sec > 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, class)
);
