import type { EInvoiceKind } from '../accounts/kinds.js';
import type { TenantGate } from '../app.js';
import { completeOib } from '../companies/oib.js';
import { operator } from '../db/database.js';
import type { PollResult } from '../einvoice/inbound-service.js';
import { mojEracunCredentials } from '../einvoice/moj-eracun-client.js';
import { isTenantGateError } from '../errors/tenantgate-error.js';
import type { EposlovanjeSimulator } from '../sandbox/eposlovanje-simulator.js';
import type { MojEracunSimulator } from '../sandbox/moj-eracun-simulator.js';
import { DEMO_TENANTS, samplesFor } from './platform.js';

/** The sandboxes the demo's e-invoices go through. */
export interface DemoSandboxes {
  eposlovanje: EposlovanjeSimulator;
  mojEracun: MojEracunSimulator;
}

/**
 * A demo tenant whose default intermediary is Moj-eRačun, with a
 * Moj-eRačun integration account (demo credentials; real ones come from
 * the intermediary).
 */
export const MOJ_ERACUN_TENANT = {
  id: 'demo-mura',
  name: 'Mura Moj-eRačun d.o.o.',
  oib: completeOib('9000000005'),
  username: 'demo-mura',
  password: 'demo-mura-moj-eracun-password',
};

/** The dummy buyer OIB of the official samples. */
const SAMPLE_BUYER_OIB = '11111111119';

const oibOf = (id: string): string =>
  id === MOJ_ERACUN_TENANT.id
    ? MOJ_ERACUN_TENANT.oib
    : (DEMO_TENANTS.find((t) => t.id === id)?.oib ?? '');

/** Who receives what in the demo: recipient, its intermediary, senders. */
const DEMO_INBOXES: { to: string; kind: EInvoiceKind; from: string[] }[] = [
  {
    to: 'demo-sava',
    kind: 'EINVOICE_EPOSLOVANJE',
    from: ['demo-jadran', 'demo-drava', 'demo-mura'],
  },
  { to: 'demo-jadran', kind: 'EINVOICE_EPOSLOVANJE', from: ['demo-sava'] },
  { to: 'demo-drava', kind: 'EINVOICE_EPOSLOVANJE', from: ['demo-sava'] },
  {
    to: 'demo-mura',
    kind: 'EINVOICE_MOJ_ERACUN',
    from: ['demo-sava', 'demo-jadran'],
  },
];

/** Samples sent through Moj-eRačun by its tenant. */
const MOJ_ERACUN_SENDS = 4;

export interface DemoEInvoiceSummary {
  /** Documents sent through Moj-eRačun this run (and already stored). */
  mojEracun: { sent: number; alreadyDone: number; failed: string[] };
  /** Status changes read from the intermediaries this run. */
  statuses: { company: string; number: string; from: string; to: string }[];
  /** SEND_UNKNOWN documents reconciled this run. */
  reconciled: number;
  /** Inbox polls this run; empty when an earlier run received them. */
  polls: PollResult[];
  /** What every demo inbox holds now. */
  inboxes: {
    company: string;
    intermediary: string;
    documents: number;
    total: string;
  }[];
}

/** Creates the Moj-eRačun demo tenant and its account, if missing. */
export async function seedMojEracunTenant(app: TenantGate): Promise<number> {
  const t = MOJ_ERACUN_TENANT;
  if (await app.companies.findByOib(t.oib)) return 0;
  await app.companies.create({
    id: t.id,
    name: t.name,
    oib: t.oib,
    eInvoicingEnabled: true,
    eInvoiceKind: 'EINVOICE_MOJ_ERACUN',
  });
  await app.accounts.create({
    companyId: t.id,
    kind: 'EINVOICE_MOJ_ERACUN',
    environment: app.settings.accountEnvironment,
    secret: mojEracunCredentials({
      username: t.username,
      password: t.password,
      companyId: t.oib,
    }),
  });
  return 1;
}

/** The Moj-eRačun sandbox knows the demo tenant's credentials. */
export function registerMojEracunDemo(sim: MojEracunSimulator): void {
  sim.registerAccount({
    username: MOJ_ERACUN_TENANT.username,
    password: MOJ_ERACUN_TENANT.password,
    companyId: MOJ_ERACUN_TENANT.oib,
  });
}

/**
 * The e-invoice lifecycle of the demo beyond the first send: samples
 * through Moj-eRačun (the Mura tenant's default intermediary), status
 * updates read back from both sandboxes, reconciliation of any
 * SEND_UNKNOWN, and inbound documents placed in the sandboxes' inboxes
 * and polled (EINVOICE_RECEIVE, V1 or V2 by the flags). Documents
 * already stored are not sent or received again, so a second run adds
 * nothing.
 */
export async function runEInvoiceDemo(
  app: TenantGate,
  sandboxes: DemoSandboxes,
): Promise<DemoEInvoiceSummary> {
  await seedMojEracunTenant(app);
  registerMojEracunDemo(sandboxes.mojEracun);
  const mojEracun = await sendThroughMojEracun(app);
  const statuses = await demoStatuses(app, sandboxes);
  let reconciled = 0;
  for (const id of demoCompanyIds()) {
    const results = await app.reconciler.reconcileCompany(id, {
      actor: 'demo',
    });
    reconciled += results.filter((r) => r.outcome !== 'FAILED').length;
  }
  const polls =
    (await inboundCount(app)) > 0 ? [] : await receive(app, sandboxes);
  return {
    mojEracun,
    statuses,
    reconciled,
    polls,
    inboxes: await inboxSummary(app),
  };
}

function demoCompanyIds(): string[] {
  return [...DEMO_TENANTS.map((t) => t.id), MOJ_ERACUN_TENANT.id];
}

async function sendThroughMojEracun(app: TenantGate) {
  const result = { sent: 0, alreadyDone: 0, failed: [] as string[] };
  const samples = samplesFor(MOJ_ERACUN_TENANT.oib).slice(0, MOJ_ERACUN_SENDS);
  for (const doc of samples) {
    const key = `demo:moj-eracun:${doc.name}`;
    if (await app.outbound.findByKey(MOJ_ERACUN_TENANT.id, key)) {
      result.alreadyDone++;
      continue;
    }
    try {
      await app.outbound.send({
        companyId: MOJ_ERACUN_TENANT.id,
        ublXml: doc.xml,
        idempotencyKey: key,
        origin: 'user',
        actor: 'demo',
      });
      result.sent++;
    } catch (error) {
      if (!isTenantGateError(error)) throw error;
      result.failed.push(`${doc.name}: ${error.code}`);
    }
  }
  return result;
}

/**
 * The buyers' side, played by the sandboxes: a few documents sent in
 * this run are delivered, accepted or rejected there, then read back
 * through each intermediary's status API. Only documents the running
 * sandboxes hold are touched, so a later run polls nothing.
 */
async function demoStatuses(app: TenantGate, sandboxes: DemoSandboxes) {
  const moves: { company: string; ref: string }[] = [];
  const sava = oibOf('demo-sava');
  const eposlovanje = sandboxes.eposlovanje
    .documents()
    .filter((d) => d.oib === sava)
    .slice(0, 3);
  const words = ['DELIVERED', 'ACCEPTED', 'REJECTED'];
  eposlovanje.forEach((d, i) => {
    sandboxes.eposlovanje.setStatus(d.id, words[i] ?? 'DELIVERED');
    moves.push({ company: 'demo-sava', ref: d.id });
  });
  const mura = sandboxes.mojEracun
    .documents()
    .filter((d) => d.sentThroughApi && d.senderOib === MOJ_ERACUN_TENANT.oib)
    .slice(0, 2);
  for (const d of mura) {
    sandboxes.mojEracun.setStatus(d.electronicId, 40);
    moves.push({ company: MOJ_ERACUN_TENANT.id, ref: String(d.electronicId) });
  }

  const changes: DemoEInvoiceSummary['statuses'] = [];
  for (const move of moves) {
    const [row] = await app.db.transaction(operator, (tx) =>
      tx.query<{ id: string }>(
        `SELECT id FROM "EInvoice" WHERE "companyId" = $1
            AND direction = 'OUTBOUND' AND "providerRef" = $2`,
        [move.company, move.ref],
      ),
    );
    if (!row) continue;
    const change = await app.statusTracker.refresh(move.company, row.id, {
      actor: 'demo',
    });
    if (change && change.to !== change.from) {
      changes.push({
        company: move.company,
        number: change.number,
        from: change.from,
        to: change.to,
      });
    }
  }
  return changes;
}

/** Places the demo documents in the sandboxes' inboxes and polls them. */
async function receive(
  app: TenantGate,
  sandboxes: DemoSandboxes,
): Promise<PollResult[]> {
  const polls: PollResult[] = [];
  for (const inbox of DEMO_INBOXES) {
    const to = oibOf(inbox.to);
    inbox.from.forEach((sender, i) => {
      const sample = samplesFor(oibOf(sender))[i + 1];
      if (!sample) return;
      const xml = sample.xml.split(SAMPLE_BUYER_OIB).join(to);
      if (inbox.kind === 'EINVOICE_MOJ_ERACUN') {
        sandboxes.mojEracun.deliverInbound({ xml, recipientOib: to });
      } else {
        sandboxes.eposlovanje.injectIncoming({ receiverOib: to, xml });
      }
    });
    polls.push(
      await app.inbound.poll({
        companyId: inbox.to,
        kind: inbox.kind,
        origin: 'worker',
        actor: 'demo',
      }),
    );
  }
  return polls;
}

async function inboundCount(app: TenantGate): Promise<number> {
  const [row] = await app.db.transaction(operator, (tx) =>
    tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "EInvoice"
        WHERE direction = 'INBOUND' AND "companyId" = ANY($1::text[])`,
      [demoCompanyIds()],
    ),
  );
  return row?.n ?? 0;
}

async function inboxSummary(app: TenantGate) {
  return app.db.transaction(operator, (tx) =>
    tx.query<DemoEInvoiceSummary['inboxes'][number]>(
      `SELECT "companyId" AS company, "providerKind" AS intermediary,
              count(*)::int AS documents,
              COALESCE(sum("totalAmount"), 0)::text AS total
         FROM "EInvoice"
        WHERE direction = 'INBOUND' AND "companyId" = ANY($1::text[])
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [demoCompanyIds()],
    ),
  );
}

/** The summary as `npm start` prints it. */
export function formatEInvoiceDemo(s: DemoEInvoiceSummary): string {
  const lines = [
    `e-invoices: Moj-eRačun (${MOJ_ERACUN_TENANT.id}): ${s.mojEracun.sent} ` +
      `sent, ${s.mojEracun.alreadyDone} already stored` +
      (s.mojEracun.failed.length > 0
        ? `, refused: ${s.mojEracun.failed.join('; ')}`
        : ''),
    `statuses read back: ${
      s.statuses.length === 0
        ? 'none this run'
        : s.statuses
            .map((c) => `${c.company} ${c.number} ${c.from}→${c.to}`)
            .join(', ')
    }`,
    `SEND_UNKNOWN reconciled: ${s.reconciled}`,
  ];
  if (s.polls.length === 0) {
    lines.push('inbound: received on an earlier run, not polled again');
  }
  for (const p of s.polls) {
    lines.push(
      `inbound: ${p.companyId} ${p.kind ?? '?'} ${p.path ?? '-'}: ` +
        `${p.received} new, ${p.duplicates} already stored` +
        (p.error ? `, failed ${p.error.code}` : ''),
    );
  }
  for (const i of s.inboxes) {
    lines.push(
      `  inbox ${i.company} (${i.intermediary}): ${i.documents} ` +
        `documents, ${i.total} EUR`,
    );
  }
  return lines.join('\n');
}
