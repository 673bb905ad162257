-- The rollout controller (issue #7): the current stage (one row), the
-- append-only history of transitions (rollbacks with their timed
-- steps), every gate evaluation with its raw numbers, and sign-offs
-- bound to the hash of the report signed. Operator-only: the service
-- role neither reads nor writes any of it.
CREATE TABLE "Rollout" (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  stage text NOT NULL CHECK (stage IN ('LEGACY', 'STAGING_ENFORCED',
    'PRODUCTION_SOFT_FAIL', 'PRODUCTION_ENFORCED', 'COMPLETE', 'PAUSED',
    'ROLLED_BACK')),
  -- The stage a PAUSED or ROLLED_BACK rollout left.
  "heldStage" text,
  "stageStartedAt" timestamptz NOT NULL,
  "updatedAt" timestamptz NOT NULL,
  "updatedBy" text NOT NULL
);

CREATE TABLE "RolloutTransition" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  "fromStage" text NOT NULL,
  "toStage" text NOT NULL,
  action text NOT NULL CHECK (action IN ('advance', 'pause', 'resume',
    'rollback')),
  actor text NOT NULL CHECK (length(btrim(actor)) > 0),
  reason text NOT NULL CHECK (length(btrim(reason)) > 0),
  approval text,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX "RolloutTransition_at_idx" ON "RolloutTransition" (at);

CREATE TABLE "GateEvaluation" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  stage text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('entry', 'acceptance',
    'rollback', 'readiness')),
  gate text NOT NULL,
  status text NOT NULL CHECK (status IN ('PASS', 'FAIL', 'INCONCLUSIVE')),
  numbers jsonb NOT NULL
);
CREATE INDEX "GateEvaluation_at_idx" ON "GateEvaluation" (at);

CREATE TABLE "SignOff" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  role text NOT NULL CHECK (role IN ('Engineering Lead', 'DevOps',
    'Product Owner')),
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  "reportSha256" text NOT NULL CHECK ("reportSha256" ~ '^[0-9a-f]{64}$'),
  signature text NOT NULL
);

CREATE TRIGGER "RolloutTransition_append_only"
  BEFORE UPDATE OR DELETE ON "RolloutTransition"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_history_change();
CREATE TRIGGER "GateEvaluation_append_only"
  BEFORE UPDATE OR DELETE ON "GateEvaluation"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_history_change();
CREATE TRIGGER "SignOff_append_only"
  BEFORE UPDATE OR DELETE ON "SignOff"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_history_change();

GRANT SELECT, INSERT, UPDATE ON "Rollout" TO tenantgate_operator;
GRANT SELECT, INSERT ON "RolloutTransition", "GateEvaluation", "SignOff"
  TO tenantgate_operator;
