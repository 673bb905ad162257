-- Running processes and scheduled checks (issues #5 and #7).
--
-- "WorkerRegistration": each TenantGate process (API server, worker,
-- npm start) says who it is, which flag values it runs with and so
-- which path (V1/V2) each operation takes there, and heartbeats. The
-- rollout's "all workers on V2" criterion reads it; a row whose
-- heartbeat is older than the timeout is a process presumed gone.
CREATE TABLE "WorkerRegistration" (
  id text PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('api', 'worker', 'start', 'cli')),
  environment text NOT NULL CHECK (environment IN ('staging',
    'production')),
  host text NOT NULL,
  pid integer NOT NULL,
  version text NOT NULL,
  -- { FLAG: { "value": bool, "source": "store|env|default|..." } }
  flags jsonb NOT NULL,
  -- { OPERATION: "V1" | "V2" }: the path the flags give each operation.
  paths jsonb NOT NULL,
  "startedAt" timestamptz NOT NULL,
  "heartbeatAt" timestamptz NOT NULL,
  "stoppedAt" timestamptz
);
CREATE INDEX "WorkerRegistration_heartbeat_idx"
  ON "WorkerRegistration" (environment, "heartbeatAt");

-- "ScheduledCheckRun": each run of a scheduled check (the spec's daily
-- invariants, the audit), with its report as evidence and whether it
-- regressed against the previous run of the same check. Append-only.
CREATE TABLE "ScheduledCheckRun" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "check" text NOT NULL CHECK ("check" IN ('invariants', 'audit')),
  at timestamptz NOT NULL,
  ready boolean NOT NULL,
  -- Ids of the checks not READY.
  failing text[] NOT NULL,
  -- Failing now and not in the previous run.
  regressed text[] NOT NULL,
  report jsonb NOT NULL
);
CREATE INDEX "ScheduledCheckRun_check_at_idx"
  ON "ScheduledCheckRun" ("check", at);

CREATE TRIGGER "ScheduledCheckRun_append_only"
  BEFORE UPDATE OR DELETE ON "ScheduledCheckRun"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_history_change();

GRANT SELECT, INSERT, UPDATE ON "WorkerRegistration"
  TO tenantgate_app, tenantgate_operator;
GRANT SELECT, INSERT ON "ScheduledCheckRun" TO tenantgate_operator;
