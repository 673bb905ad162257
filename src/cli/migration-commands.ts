import { type Act } from './session.js';
import { auditPlatform } from '../audit/platform-audit.js';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openTenantGate, type TenantGate } from '../app.js';
import { loadSettings } from '../config/settings.js';
import { EnvFlagSource } from '../flags/env-flags.js';
import { adopt } from '../migration/adopt.js';
import { backfill } from '../migration/backfill.js';
import {
  collectEvidence,
  evidenceMarkdown,
  writeEvidence,
} from '../migration/evidence.js';
import { generateLegacyPlatform } from '../migration/legacy-demo.js';
import {
  formatAdoptReport,
  formatBackfillReport,
  formatEntitlementsReport,
  formatGuardrailReport,
  formatHardenReport,
  formatProvisionReport,
} from '../migration/format.js';
import { suspendUnbackedEntitlements } from '../migration/entitlements.js';
import { harden, rollbackHardening } from '../migration/harden.js';
import { provision } from '../migration/provision.js';
import { unlinkWrongLinks, type UnlinkReport } from '../migration/unlink.js';
import { checkInputPath, printJson, writeOutputDir } from './io.js';
import { integerOption } from './options.js';

/** `--batch-size`: rows or companies per batch, at least 1. */
const batchSize = integerOption('--batch-size', { min: 1 });

async function withApp(
  run: (app: TenantGate) => Promise<number>,
  options: { migrate?: boolean } = {},
): Promise<number> {
  const settings = loadSettings();
  // Without migrations (a legacy database) there is no flag store yet.
  const flags =
    options.migrate === false ? new EnvFlagSource(settings.flags) : undefined;
  const app = await openTenantGate(settings, {
    allowLocalKey: true,
    migrate: options.migrate,
    flags,
  });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/**
 * The migration commands (issue #6): provision, backfill, harden,
 * guardrail. Each is a dry run unless told `--apply`, and prints the
 * same report as text or `--json`.
 */
export function addMigrationCommands(program: Command, act: Act): void {
  program
    .command('provision')
    .description('create integration accounts from legacy credentials')
    .option('--apply', 'write the accounts (default: dry run, plan only)')
    .option('--restart', 'ignore the checkpoint of an interrupted run')
    .option('--batch-size <n>', 'companies per batch', batchSize, 500)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await provision(
            { db: app.db, vault: app.vault, logger: app.logger },
            {
              apply: Boolean(o.apply),
              restart: Boolean(o.restart),
              batchSize: o.batchSize,
              accountEnvironment: app.settings.accountEnvironment,
            },
          );
          if (o.json) printJson(report);
          else console.log(formatProvisionReport(report));
          return 0;
        }),
      ),
    );

  program
    .command('backfill')
    .description('link historic rows to the accounts that served them')
    .option('--apply', 'write the links (default: dry run, report only)')
    .option('--restart', 'ignore the checkpoints of an interrupted run')
    .option('--batch-size <n>', 'rows per batch, at most', batchSize, 5000)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await backfill(
            { db: app.db, vault: app.vault, logger: app.logger },
            {
              apply: Boolean(o.apply),
              restart: Boolean(o.restart),
              batchSize: o.batchSize,
              accountEnvironment: app.settings.accountEnvironment,
            },
          );
          if (o.json) printJson(report);
          else console.log(formatBackfillReport(report));
          return 0;
        }),
      ),
    );

  program
    .command('entitlements')
    .description('entitlements that no ACTIVE account backs')
    .command('suspend')
    .description(
      'switch off the fiscalization / e-invoicing of companies without ' +
        'an ACTIVE account for it (the audit readiness offenders)',
    )
    .option('--apply', 'switch them off (default: dry run, list only)')
    .option('--batch-size <n>', 'companies per transaction', batchSize, 1000)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await suspendUnbackedEntitlements(
            { db: app.db, logger: app.logger },
            {
              apply: Boolean(o.apply),
              batchSize: o.batchSize,
              accountEnvironment: app.settings.accountEnvironment,
            },
          );
          if (o.json) printJson(report);
          else console.log(formatEntitlementsReport(report));
          return 0;
        }),
      ),
    );

  program
    .command('unlink')
    .description(
      'remove links to accounts that cannot have served the row ' +
        '(another company, wrong kind)',
    )
    .option('--apply', 'remove the links (default: dry run, report only)')
    .option('--batch-size <n>', 'rows per transaction', batchSize, 1000)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await unlinkWrongLinks(
            { db: app.db, logger: app.logger },
            {
              apply: Boolean(o.apply),
              batchSize: o.batchSize,
            },
          );
          if (o.json) printJson(report);
          else console.log(formatUnlinkReport(report));
          return 0;
        }),
      ),
    );

  program
    .command('harden')
    .description('turn the invariants into database constraints')
    .option('--rollback', 'remove the constraints hardening added')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const deps = { db: app.db, logger: app.logger };
          const report = o.rollback
            ? await rollbackHardening(deps)
            : await harden(deps, {
                accountEnvironment: app.settings.accountEnvironment,
                enforcementOn: app.flags.isEnabled(
                  'FF_ENFORCE_INTEGRATION_ACCOUNT',
                  { environment: app.settings.deploymentEnvironment },
                ),
              });
          if (o.json) printJson(report);
          else console.log(formatHardenReport(report));
          return o.rollback || report.complete ? 0 : 3;
        }),
      ),
    );

  program
    .command('guardrail [path]')
    .description('list reads of legacy credentials outside the legacy adapters')
    .option('--root <dir>', 'paths are reported relative to it', '.')
    .option(
      '--adapter <file...>',
      'files allowed to read legacy credentials (default: TenantGate’s)',
    )
    .option('--json', 'print JSON')
    .action(
      act(async (path: string | undefined, o) => {
        // The scanner needs the TypeScript parser: load it only here.
        const { scanTree } = await import('../migration/guardrail.js');
        const root = resolve(o.root);
        const scanned = resolve(root, path ?? 'src');
        checkInputPath(scanned, path === undefined ? '--root' : 'path');
        const report = scanTree(root, scanned, {
          adapters: o.adapter,
        });
        if (o.json) printJson(report);
        else console.log(formatGuardrailReport(report));
        return report.violations.length === 0 ? 0 : 1;
      }),
    );

  program
    .command('demo')
    .description('demonstration databases')
    .command('legacy')
    .description("build a platform database of the prior system's shape")
    .requiredOption(
      '--companies <n>',
      'companies to create',
      integerOption('--companies', { min: 1 }),
    )
    .option(
      '--invoices <n>',
      'e-invoices per company',
      integerOption('--invoices', { min: 1 }),
      10,
    )
    .option(
      '--fiscal-requests <n>',
      'per company with a certificate',
      integerOption('--fiscal-requests', { min: 1 }),
      5,
    )
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(
          async (app) => {
            const report = await generateLegacyPlatform(
              { db: app.db, vault: app.vault, logger: app.logger },
              {
                companies: o.companies,
                invoicesPerCompany: o.invoices,
                fiscalRequestsPerCompany: o.fiscalRequests,
                certificateEnvironment: app.settings.accountEnvironment,
              },
            );
            if (o.json) printJson(report);
            else console.log(JSON.stringify(report));
            return 0;
          },
          { migrate: false },
        ),
      ),
    );

  program
    .command('adopt')
    .description("bring a prior system's database under TenantGate")
    .option('--no-verify', 'skip the before/after digest of every row')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(
          async (app) => {
            const report = await adopt(
              { db: app.db, logger: app.logger },
              { verifyRows: o.verify },
            );
            if (o.json) printJson(report);
            else console.log(formatAdoptReport(report));
            return report.rowsUnchanged ? 0 : 1;
          },
          { migrate: false },
        ),
      ),
    );

  program
    .command('evidence')
    .description('before/after evidence: counts by status, kind, company')
    .option('--label <label>', 'before, after, ...', 'snapshot')
    .option('--out <dir>', 'folder for the JSON and Markdown', 'evidence')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const audit = await auditPlatform(app);
          const evidence = await collectEvidence(app.db, o.label, audit);
          const paths = writeOutputDir(o.out, '--out', () =>
            writeEvidence(o.out, evidence),
          );
          if (o.json) printJson(evidence);
          else console.log(evidenceMarkdown(evidence));
          console.error(`written: ${paths.json}, ${paths.markdown}`);
          return 0;
        }),
      ),
    );
}

function formatUnlinkReport(report: UnlinkReport): string {
  const lines = [
    `unlink (${report.mode}) ${report.runId}`,
    `wrong links: ${report.links.length}` +
      (report.mode === 'apply'
        ? `, removed ${report.unlinked}, changed meanwhile ` +
          `${report.skippedConcurrently}`
        : ''),
  ];
  for (const [reason, n] of Object.entries(report.byReason)) {
    lines.push(`  ${reason}: ${n}`);
  }
  for (const link of report.links.slice(0, 50)) {
    lines.push(
      `  ${link.table} ${link.id} (company ${link.companyId}) -> ` +
        `${link.integrationAccountId} (${link.accountKind}, company ` +
        `${link.accountCompanyId}): ${link.reason}`,
    );
  }
  if (report.links.length > 50) {
    lines.push(`  … ${report.links.length - 50} more (--json for all)`);
  }
  return lines.join('\n');
}
