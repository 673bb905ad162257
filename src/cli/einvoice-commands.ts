import { withApp, type Act } from './session.js';
import type { Command } from 'commander';
import { isEInvoiceKind } from '../accounts/kinds.js';
import { listInbound } from '../einvoice/inbound-store.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { printJson, printTable } from './io.js';
import { integerOption } from './options.js';

/**
 * The e-invoice lifecycle commands (issue #4, items 4–6), under
 * `einvoices`: `reconcile` (SEND_UNKNOWN from the intermediary's
 * outgoing listing), `status` (SENT → DELIVERED/ACCEPTED/REJECTED),
 * `receive` (poll the inbox now) and `inbox` (what was received).
 */
export function addEInvoiceLifecycleCommands(program: Command, act: Act): void {
  const einvoices =
    program.commands.find((c) => c.name() === 'einvoices') ??
    program.command('einvoices');

  einvoices
    .command('reconcile')
    .description(
      "resolve SEND_UNKNOWN documents from the intermediary's outgoing listing; resend (once) only what it proves was not received",
    )
    .requiredOption('--company <id>')
    .option('--no-resend', 'only look up; never send again')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          await app.companies.show(o.company);
          const results = await app.reconciler.reconcileCompany(o.company, {
            resend: o.resend,
            origin: 'user',
            actor: 'cli',
          });
          if (o.json) return printJson(results);
          if (results.length === 0) console.log('nothing to reconcile');
          printTable(
            results.map((r) => ({
              id: r.invoiceId,
              number: r.number,
              outcome: r.outcome,
              providerRef: r.providerRef ?? '-',
              error: r.error?.code ?? '',
            })),
          );
          return results.some((r) => r.outcome === 'FAILED') ? 1 : 0;
        }),
      ),
    );

  einvoices
    .command('status')
    .description(
      "read SENT/DELIVERED documents' status from the intermediary (through the gate)",
    )
    .requiredOption('--company <id>')
    .option('--invoice <id>', 'only this e-invoice')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          await app.companies.show(o.company);
          const options = { origin: 'user' as const, actor: 'cli' };
          const changes = o.invoice
            ? [
                await app.statusTracker.refresh(o.company, o.invoice, options),
              ].filter((c) => c !== undefined)
            : await app.statusTracker.refreshCompany(o.company, options);
          if (o.json) return printJson(changes);
          if (changes.length === 0) console.log('no document to track');
          printTable(
            changes.map((c) => ({
              id: c.invoiceId,
              number: c.number,
              from: c.from,
              to: c.to,
              word: c.word ?? '-',
              error: c.error?.code ?? '',
            })),
          );
          return changes.some((c) => c.error) ? 1 : 0;
        }),
      ),
    );

  einvoices
    .command('receive')
    .description('poll the inbox at an intermediary now (EINVOICE_RECEIVE)')
    .requiredOption('--company <id>')
    .option('--kind <kind>', "default: the company's default intermediary")
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          if (o.kind !== undefined && !isEInvoiceKind(o.kind)) {
            throw invalidInput(
              'kind',
              'einvoice-kind',
              `kind: '${o.kind}' is not an e-invoice kind`,
            );
          }
          const result = await app.inbound.poll({
            companyId: o.company,
            kind: o.kind,
            origin: 'user',
            actor: 'cli',
          });
          const shown = { ...result, error: result.error?.toJSON() };
          if (o.json) printJson(shown);
          else {
            console.log(
              `${result.kind ?? '-'} ${result.path ?? '-'}: ${result.received} new, ` +
                `${result.duplicates} already stored, ${result.pages} pages, ` +
                `cursor ${result.cursorBefore ?? '∅'} → ${result.cursorAfter ?? '∅'}` +
                (result.error ? ` (failed: ${result.error.code})` : ''),
            );
          }
          return result.error ? 1 : 0;
        }),
      ),
    );

  einvoices
    .command('inbox')
    .description('received e-invoices of a company, newest first')
    .requiredOption('--company <id>')
    .option('--limit <n>', 'rows', integerOption('--limit', { min: 1 }), 50)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          // An unknown company is an error, not an empty inbox.
          await app.companies.show(o.company);
          const rows = await listInbound(app.db, o.company, o.limit);
          if (o.json) return printJson(rows);
          printTable(
            rows.map((r) => ({
              id: r.id,
              number: r.number,
              seller: r.sellerOib,
              total: `${r.totalAmount ?? '-'} ${r.currency}`,
              status: r.status,
              via: r.providerKind,
              ref: r.providerRef,
            })),
          );
        }),
      ),
    );
}
