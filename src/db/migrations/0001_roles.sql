-- Roles are cluster-wide: create them once, tolerate a concurrent creator.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantgate_app') THEN
    CREATE ROLE tenantgate_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_roles WHERE rolname = 'tenantgate_operator'
  ) THEN
    CREATE ROLE tenantgate_operator NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- The owner (the DATABASE_URL user) switches to both with SET ROLE.
DO $$
BEGIN
  EXECUTE format('GRANT tenantgate_app TO %I', current_user);
  EXECUTE format('GRANT tenantgate_operator TO %I', current_user);
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
