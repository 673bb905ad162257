-- Flag store: one value per (flag, deployment environment, scope), where
-- scope '' is the environment-wide value and a company id an override.
-- The environment-wide row may carry a cohort (enforcement flag only):
-- a percentage of companies by a stable hash of the company id, plus
-- allow and deny lists.
CREATE TABLE "Flag" (
  flag text NOT NULL,
  environment text NOT NULL CHECK (environment IN ('staging', 'production')),
  "companyId" text NOT NULL DEFAULT '',
  enabled boolean NOT NULL,
  "cohortPercent" integer CHECK ("cohortPercent" BETWEEN 0 AND 100),
  "allowCompanyIds" text[] NOT NULL DEFAULT '{}',
  "denyCompanyIds" text[] NOT NULL DEFAULT '{}',
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "updatedBy" text NOT NULL,
  PRIMARY KEY (flag, environment, "companyId")
);

-- Append-only history of every change to "Flag"; old/new are the whole
-- value (null when the row did not exist / was removed).
CREATE TABLE "FlagChange" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  flag text NOT NULL,
  environment text NOT NULL CHECK (environment IN ('staging', 'production')),
  "companyId" text NOT NULL DEFAULT '',
  actor text NOT NULL CHECK (length(btrim(actor)) > 0),
  reason text NOT NULL CHECK (length(btrim(reason)) > 0),
  "oldValue" jsonb,
  "newValue" jsonb
);
CREATE INDEX "FlagChange_flag_env_at_idx"
  ON "FlagChange" (flag, environment, at);

-- What each process ran with, and where each value came from (env,
-- store, default): the history of env-driven deployments too.
CREATE TABLE "ProcessFlagSnapshot" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  environment text NOT NULL CHECK (environment IN ('staging', 'production')),
  "processId" text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  cause text NOT NULL CHECK (cause IN ('start', 'change')),
  "values" jsonb NOT NULL
);
CREATE INDEX "ProcessFlagSnapshot_env_at_idx"
  ON "ProcessFlagSnapshot" (environment, at);

CREATE FUNCTION tenantgate_refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER "FlagChange_append_only"
  BEFORE UPDATE OR DELETE ON "FlagChange"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_history_change();
CREATE TRIGGER "ProcessFlagSnapshot_append_only"
  BEFORE UPDATE OR DELETE ON "ProcessFlagSnapshot"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_history_change();

-- Every committed change wakes the listening processes.
CREATE FUNCTION tenantgate_notify_flags() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tenantgate_flags', '');
  RETURN NULL;
END $$;
CREATE TRIGGER "Flag_notify"
  AFTER INSERT OR UPDATE OR DELETE ON "Flag"
  FOR EACH STATEMENT EXECUTE FUNCTION tenantgate_notify_flags();

-- Hourly rollup of the ledger. No company column: metrics and gates
-- never label by tenant. '' stands for a null path or error name so the
-- key can be a primary key.
CREATE TABLE "OperationEventHourly" (
  hour timestamptz NOT NULL,
  environment text NOT NULL,
  operation text NOT NULL,
  path text NOT NULL,
  outcome text NOT NULL,
  "wouldBlock" boolean NOT NULL,
  fallback boolean NOT NULL,
  "errorName" text NOT NULL,
  origin text NOT NULL,
  count bigint NOT NULL,
  "durationMsSum" bigint NOT NULL,
  PRIMARY KEY (hour, environment, operation, path, outcome, "wouldBlock",
    fallback, "errorName", origin)
);

-- One row: every hour before "rolledUpTo" is in "OperationEventHourly".
CREATE TABLE "OperationEventRollupState" (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  "rolledUpTo" timestamptz NOT NULL
);

-- Retention may delete raw events, and only events that are rolled up
-- and older than 31 days (the longest gate window is 30 days); the
-- deleting transaction must say so with tenantgate.retention = 'on'.
CREATE FUNCTION tenantgate_operation_event_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('tenantgate.retention', true) = 'on'
     AND OLD.at < now() - interval '31 days'
     AND OLD.at < (SELECT "rolledUpTo" FROM "OperationEventRollupState")
  THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'OperationEvent is append-only'
    USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER "OperationEvent_append_only" ON "OperationEvent";
CREATE TRIGGER "OperationEvent_append_only"
  BEFORE UPDATE OR DELETE ON "OperationEvent"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_operation_event_guard();

-- Flags are operator-managed and readable by the service.
GRANT SELECT ON "Flag", "FlagChange" TO tenantgate_app;
GRANT SELECT, INSERT ON "ProcessFlagSnapshot" TO tenantgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "Flag" TO tenantgate_operator;
GRANT SELECT, INSERT ON "FlagChange", "ProcessFlagSnapshot"
  TO tenantgate_operator;
GRANT SELECT ON "OperationEventHourly", "OperationEventRollupState"
  TO tenantgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "OperationEventHourly",
  "OperationEventRollupState" TO tenantgate_operator;
GRANT DELETE ON "OperationEvent" TO tenantgate_operator;
