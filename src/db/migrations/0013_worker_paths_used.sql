-- The path each process last used per operation (issue #7).
--
-- "pathsUsed": { OPERATION: { "path": "V1" | "V2", "at": ISO time } },
-- what the enforcement gate of the process last took for each
-- operation, written by its heartbeat. An operation it has not run is
-- absent; the "all workers on V2" gate then reads the flag-derived
-- path in "paths".
ALTER TABLE "WorkerRegistration"
  ADD COLUMN "pathsUsed" jsonb NOT NULL DEFAULT '{}'::jsonb;
