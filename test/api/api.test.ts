import { describe, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { randomOib } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  companyWithNothing,
  eventsOf,
  invoiceFor,
  MIGRATING,
  newApiKey,
  setFlags,
} from '../support/platform.js';
import { expectProblem, useApi, type Answer } from './api-fixture.js';

describeEachDatabase('HTTP API', ({ db }) => {
  const h = useApi(db);

  async function tenantWithKey() {
    const tenant = await companyWithNothing(h().platform);
    const key = await h().tenantKey(tenant.company.id);
    return { tenant, ...key };
  }

  describe('health and documents', () => {
    it('answers /healthz and /readyz without a token', async () => {
      expect((await h().call('GET', '/healthz')).body).toEqual({
        status: 'ok',
      });
      expect((await h().call('GET', '/readyz')).body).toEqual({
        status: 'ready',
        checks: { database: 'ok' },
      });
    });

    it('publishes an OpenAPI document built from the route schemas', async () => {
      const doc = await h().call('GET', '/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining([
          '/v1/accounts',
          '/v1/accounts/{id}',
          '/v1/accounts/{id}/rotate',
          '/v1/einvoices',
          '/v1/einvoices/{id}',
          '/v1/companies',
          '/v1/readiness/audit',
        ]),
      );
      expect(doc.text).not.toContain('secretEnvelope');
      const create = doc.body.paths['/v1/accounts'].post;
      expect(
        create.responses['4XX'].content['application/problem+json'].schema
          .properties.code,
      ).toBeDefined();
      expect(
        create.requestBody.content['application/json'].schema.properties.secret
          .writeOnly,
      ).toBe(true);
    });
  });

  describe('authentication', () => {
    it('refuses a request without a token with 401 problem+json', async () => {
      const answer = await h().call('GET', '/v1/accounts');
      expectProblem(answer, 401, 'AUTH_REQUIRED');
    });

    it('refuses an unknown token', async () => {
      const answer = await h().call('GET', '/v1/accounts', {
        token: 'tgt_' + '0'.repeat(64),
      });
      expectProblem(answer, 401, 'AUTH_REQUIRED');
    });

    it('refuses a revoked key at once', async () => {
      const { token, id } = await tenantWithKey();
      expect((await h().call('GET', '/v1/accounts', { token })).status).toBe(
        200,
      );
      await h().keys.revoke(id);
      const answer = await h().call('GET', '/v1/accounts', { token });
      expectProblem(answer, 401, 'AUTH_REQUIRED');
    });

    it('stores only the hash of a token', async () => {
      const { token, id } = await tenantWithKey();
      const rows = await h().platform.db.transaction(operator, (tx) =>
        tx.query<Record<string, unknown>>(
          'SELECT * FROM "ApiKey" WHERE id = $1',
          [id],
        ),
      );
      expect(JSON.stringify(rows)).not.toContain(token);
      expect(rows[0]?.keyHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('keeps tenant keys off operator routes (403)', async () => {
      const { token } = await tenantWithKey();
      for (const path of ['/v1/companies', '/v1/readiness/audit']) {
        expectProblem(await h().call('GET', path, { token }), 403, 'FORBIDDEN');
      }
    });

    it('makes an operator name the tenant it acts for', async () => {
      const answer = await h().call('GET', '/v1/accounts', {
        token: h().operatorToken,
      });
      expectProblem(answer, 422, 'INVALID_INPUT');
      expect(answer.body).toMatchObject({
        field: 'X-Tenant-Id',
        rule: 'required',
      });
    });
  });

  describe('integration accounts', () => {
    it('creates, lists, shows, rotates, disables and enables an account, never returning the secret', async () => {
      const { tenant, token } = await tenantWithKey();
      const secret = newApiKey('api-create');
      const created = await h().call('POST', '/v1/accounts', {
        token,
        body: { kind: 'EINVOICE_EPOSLOVANJE', environment: 'TEST', secret },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        companyId: tenant.company.id,
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: 'TEST',
        status: 'ACTIVE',
      });
      const id = created.body.id as string;

      const list = await h().call('GET', '/v1/accounts', { token });
      expect(list.body.map((a: { id: string }) => a.id)).toEqual([id]);
      const shown = await h().call('GET', `/v1/accounts/${id}`, { token });
      expect(shown.body.id).toBe(id);

      const rotatedSecret = newApiKey('api-rotate');
      const rotated = await h().call('POST', `/v1/accounts/${id}/rotate`, {
        token,
        body: { secret: rotatedSecret },
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body.rotatedAt).toEqual(expect.any(String));

      const disabled = await h().call('POST', `/v1/accounts/${id}/disable`, {
        token,
        body: { reason: 'contract ended' },
      });
      expect(disabled.body).toMatchObject({
        status: 'DISABLED',
        statusReason: 'contract ended',
      });
      const enabled = await h().call('POST', `/v1/accounts/${id}/enable`, {
        token,
      });
      expect(enabled.body.status).toBe('ACTIVE');

      const everything = [created, list, shown, rotated, disabled, enabled]
        .map((a) => a.text)
        .join('\n');
      for (const leak of [secret, rotatedSecret, 'secretEnvelope']) {
        expect(everything).not.toContain(leak);
      }
      const logs = h().platform.logs.text();
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(rotatedSecret);
      expect(logs).not.toContain(token);
    });

    it('answers a second account of the same kind with 409 ACCOUNT_EXISTS', async () => {
      const { token } = await tenantWithKey();
      const body = {
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: 'TEST',
        secret: newApiKey('dup'),
      };
      await h().call('POST', '/v1/accounts', { token, body });
      const again = await h().call('POST', '/v1/accounts', { token, body });
      expectProblem(again, 409, 'ACCOUNT_EXISTS');
    });

    it('names the field and the rule of a body that breaks the schema (400)', async () => {
      const { token } = await tenantWithKey();
      const answer = await h().call('POST', '/v1/accounts', {
        token,
        body: { kind: 'EINVOICE_EPOSLOVANJE', environment: 'TEST' },
      });
      expectProblem(answer, 400, 'INVALID_INPUT');
      expect(answer.body).toMatchObject({ field: 'secret', rule: 'required' });
    });

    it('names a property the schema does not allow (400)', async () => {
      const { token } = await tenantWithKey();
      const answer = await h().call('POST', '/v1/accounts', {
        token,
        body: {
          kind: 'EINVOICE_EPOSLOVANJE',
          environment: 'TEST',
          secret: 'not-a-real-key-but-long-enough',
          bogus: true,
        },
      });
      expectProblem(answer, 400, 'INVALID_INPUT');
      expect(answer.body).toMatchObject({
        field: 'bogus',
        rule: 'additionalProperties',
      });
      expect(answer.body.detail).toContain("'bogus'");
    });

    it('refuses an unknown status filter on a list instead of an empty list (400)', async () => {
      const key = await tenantWithKey();

      const [einvoices, receipts] = await Promise.all([
        h().call('GET', '/v1/einvoices?status=BOGUS', key),
        h().call('GET', '/v1/fiscal/receipts?status=BOGUS', key),
      ]);

      for (const answer of [einvoices, receipts]) {
        expectProblem(answer, 400, 'INVALID_INPUT');
        expect(answer.body).toMatchObject({ field: 'status', rule: 'enum' });
      }
      expect(einvoices.body.detail).toContain('SEND_UNKNOWN');
    });

    it("gives another tenant's key 404 on a crafted account id, and changes nothing", async () => {
      const victim = await companyWithAccount(h().platform);
      const id = victim.account?.id as string;
      const { token } = await tenantWithKey();

      const attempts = [
        h().call('GET', `/v1/accounts/${id}`, { token }),
        h().call('POST', `/v1/accounts/${id}/rotate`, {
          token,
          body: { secret: newApiKey('attacker') },
        }),
        h().call('POST', `/v1/accounts/${id}/disable`, {
          token,
          body: { reason: 'attack' },
        }),
        h().call('GET', `/v1/accounts/${id}`, {
          token,
          headers: { 'x-tenant-id': victim.company.id },
        }),
      ];
      const answers = await Promise.all(attempts);
      for (const answer of answers.slice(0, 3)) {
        expectProblem(answer, 404, 'ACCOUNT_NOT_FOUND');
      }
      expectProblem(answers[3] as Answer, 404, 'COMPANY_NOT_FOUND');

      const after = await h().platform.accounts.show(victim.company.id, id);
      expect(after.status).toBe('ACTIVE');
      expect(after.rotatedAt).toBeNull();
    });

    it('lets an operator act for a tenant it names', async () => {
      const victim = await companyWithAccount(h().platform);
      const answer = await h().call('GET', '/v1/accounts', {
        token: h().operatorToken,
        headers: { 'x-tenant-id': victim.company.id },
      });
      expect(answer.body.map((a: { id: string }) => a.id)).toEqual([
        victim.account?.id,
      ]);
    });
  });

  describe('e-invoices', () => {
    it('sends an e-invoice, answers a resend as a duplicate, and reports its status', async () => {
      setFlags(h().platform, MIGRATING);
      const tenant = await companyWithAccount(h().platform);
      const { token } = await h().tenantKey(tenant.company.id);
      const ublXml = invoiceFor(tenant);

      const sent = await h().call('POST', '/v1/einvoices', {
        token,
        body: { ublXml },
      });
      expect(sent.status).toBe(201);
      expect(sent.body).toMatchObject({
        duplicate: false,
        invoice: {
          companyId: tenant.company.id,
          status: 'SENT',
          integrationAccountId: tenant.account?.id,
        },
      });
      const again = await h().call('POST', '/v1/einvoices', {
        token,
        body: { ublXml },
      });
      expect(again.status).toBe(200);
      expect(again.body.duplicate).toBe(true);

      const id = sent.body.invoice.id as string;
      const status = await h().call('GET', `/v1/einvoices/${id}`, { token });
      expect(status.body).toMatchObject({ id, status: 'SENT' });
      expect(sent.text).not.toContain(tenant.accountKey as string);
    });

    it("lists the company's e-invoices and serves a document, never another tenant's", async () => {
      setFlags(h().platform, MIGRATING);
      const tenant = await companyWithAccount(h().platform);
      const own = await h().tenantKey(tenant.company.id);
      const ublXml = invoiceFor(tenant);
      await h().call('POST', '/v1/einvoices', {
        token: own.token,
        body: { ublXml },
      });
      const list = await h().call('GET', '/v1/einvoices?limit=10', own);
      expect(list.status).toBe(200);
      expect(list.body).toHaveLength(1);
      const id = list.body[0].id as string;
      expect(list.body[0]).toMatchObject({ direction: 'OUTBOUND' });

      const doc = await h().call('GET', `/v1/einvoices/${id}/document`, own);
      expect(doc.headers.get('content-type')).toContain('application/xml');
      expect(doc.text).toBe(ublXml);

      const other = await tenantWithKey();
      const foreignList = await h().call('GET', '/v1/einvoices', other);
      expect(foreignList.body).toEqual([]);
      const foreignDoc = await h().call(
        'GET',
        `/v1/einvoices/${id}/document`,
        other,
      );
      expectProblem(foreignDoc, 404, 'EINVOICE_NOT_FOUND');
    });

    it("gives another tenant's key 404 on a crafted e-invoice id", async () => {
      setFlags(h().platform, MIGRATING);
      const tenant = await companyWithAccount(h().platform);
      const own = await h().tenantKey(tenant.company.id);
      const sent = await h().call('POST', '/v1/einvoices', {
        token: own.token,
        body: { ublXml: invoiceFor(tenant) },
      });
      // Sent, or stored with its failure: either way the row exists.
      const id = sent.body.invoice?.id ?? sent.body.eInvoiceId;
      expect(id).toEqual(expect.any(String));
      const { token } = await tenantWithKey();
      const answer = await h().call('GET', `/v1/einvoices/${id}`, { token });
      expectProblem(answer, 404, 'EINVOICE_NOT_FOUND');
    });

    it("refuses to send through another tenant's account (403 TENANT_VIOLATION)", async () => {
      setFlags(h().platform, MIGRATING);
      const victim = await companyWithAccount(h().platform);
      const attacker = await companyWithAccount(h().platform);
      const { token } = await h().tenantKey(attacker.company.id);
      const answer = await h().call('POST', '/v1/einvoices', {
        token,
        body: {
          ublXml: invoiceFor(attacker),
          accountId: victim.account?.id,
        },
      });
      expectProblem(answer, 403, 'TENANT_VIOLATION');
      expect(answer.text).not.toContain(victim.company.id);
    });

    it('records an operator acting for a tenant as the actor of the operation', async () => {
      setFlags(h().platform, MIGRATING);
      const tenant = await companyWithAccount(h().platform);
      const answer = await h().call('POST', '/v1/einvoices', {
        token: h().operatorToken,
        headers: { 'x-tenant-id': tenant.company.id },
        body: { ublXml: invoiceFor(tenant) },
      });
      expect(answer.status).toBe(201);
      const actors = await h().platform.db.transaction(operator, (tx) =>
        tx.query<{ actor: string; correlationId: string }>(
          `SELECT actor, "correlationId" FROM "OperationEvent"
            WHERE "companyId" = $1`,
          [tenant.company.id],
        ),
      );
      expect(actors).toEqual([
        {
          actor: `operator-key:${h().operatorKeyId}`,
          correlationId: answer.headers.get('x-request-id'),
        },
      ]);
      expect(await eventsOf(h().platform, tenant.company.id)).toHaveLength(1);
    });
  });

  describe('companies (operator)', () => {
    it('creates, lists, shows a company and sets its entitlements', async () => {
      const token = h().operatorToken;
      const oib = randomOib();
      const created = await h().call('POST', '/v1/companies', {
        token,
        body: { name: 'API d.o.o.', oib },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ oib, eInvoicingEnabled: false });
      const id = created.body.id as string;

      const list = await h().call('GET', '/v1/companies', { token });
      expect(list.body.map((c: { id: string }) => c.id)).toContain(id);
      const shown = await h().call('GET', `/v1/companies/${id}`, { token });
      expect(shown.body.oib).toBe(oib);

      const changed = await h().call(
        'PATCH',
        `/v1/companies/${id}/entitlements`,
        {
          token,
          body: {
            eInvoicingEnabled: true,
            eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
          },
        },
      );
      expect(changed.body).toMatchObject({
        eInvoicingEnabled: true,
        eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
      });
    });

    it('names the field and the rule of an OIB with a bad check digit (422)', async () => {
      const answer = await h().call('POST', '/v1/companies', {
        token: h().operatorToken,
        body: { name: 'Bad d.o.o.', oib: '12345678900' },
      });
      expectProblem(answer, 422, 'INVALID_INPUT');
      expect(answer.body).toMatchObject({
        field: 'oib',
        rule: 'iso7064-mod11-10',
      });
    });

    it('answers an unknown company with 404', async () => {
      const answer = await h().call('GET', '/v1/companies/co_missing', {
        token: h().operatorToken,
      });
      expectProblem(answer, 404, 'COMPANY_NOT_FOUND');
    });
  });

  describe('readiness (operator)', () => {
    it('serves the audit and invariants reports the CLI prints', async () => {
      const token = h().operatorToken;
      for (const path of ['/v1/readiness/audit', '/v1/readiness/invariants']) {
        const answer = await h().call('GET', path, { token });
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({
          database: h().platform.db.kind,
          ready: expect.any(Boolean),
          generatedAt: expect.any(String),
        });
        expect(answer.body.checks.length).toBeGreaterThan(0);
        for (const check of answer.body.checks) {
          expect(check).toMatchObject({
            id: expect.any(String),
            status: expect.stringMatching(/^(READY|NOT_READY)$/),
            count: expect.any(Number),
          });
        }
      }
    });

    it("serves the spec's V1/V2 usage and the operation events", async () => {
      setFlags(h().platform, MIGRATING);
      const tenant = await companyWithAccount(h().platform);
      const { token: tenantToken } = await h().tenantKey(tenant.company.id);
      await h().call('POST', '/v1/einvoices', {
        token: tenantToken,
        body: { ublXml: invoiceFor(tenant) },
      });
      const token = h().operatorToken;

      const usage = await h().call('GET', '/v1/readiness/path-usage', {
        token,
      });
      expect(usage.status).toBe(200);
      const v2 = usage.body.reduce(
        (sum: number, r: { v2_path: number }) => sum + r.v2_path,
        0,
      );
      expect(v2).toBeGreaterThanOrEqual(1);
      expect(usage.body[0].hour).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00/);

      const ops = await h().call('GET', '/v1/readiness/operations', { token });
      expect(ops.body).toContainEqual(
        expect.objectContaining({
          operation: 'EINVOICE_SEND',
          path: 'V2',
          outcome: 'SUCCESS',
        }),
      );
    });
  });

  describe('API keys over HTTP (operator)', () => {
    it('creates a tenant key whose token works once shown, lists it without secrets, and revokes it', async () => {
      const tenant = await companyWithNothing(h().platform);
      const token = h().operatorToken;
      const created = await h().call('POST', '/v1/api-keys', {
        token,
        body: { kind: 'tenant', companyId: tenant.company.id, label: 'erp' },
      });
      expect(created.status).toBe(201);
      const tenantToken = created.body.token as string;
      const id = created.body.key.id as string;
      expect(
        (await h().call('GET', '/v1/accounts', { token: tenantToken })).status,
      ).toBe(200);

      const list = await h().call('GET', '/v1/api-keys', { token });
      expect(list.body).toContainEqual(
        expect.objectContaining({ id, companyId: tenant.company.id }),
      );
      expect(list.text).not.toContain(tenantToken);
      expect(list.text).not.toContain('keyHash');

      const revoked = await h().call('POST', `/v1/api-keys/${id}/revoke`, {
        token,
      });
      expect(revoked.body.revokedAt).toEqual(expect.any(String));
      const after = await h().call('GET', '/v1/accounts', {
        token: tenantToken,
      });
      expectProblem(after, 401, 'AUTH_REQUIRED');
    });

    it('replaces the labelled start-up key, revoking the previous one', async () => {
      const label = `start-${Date.now()}`;
      const first = await h().keys.replaceLabelled(label);
      const second = await h().keys.replaceLabelled(label);
      const use = (token: string) =>
        h().call('GET', '/v1/companies', { token });
      expect((await use(first.token)).status).toBe(401);
      expect((await use(second.token)).status).toBe(200);
    });

    it('refuses a tenant key without a company, naming the field', async () => {
      const answer = await h().call('POST', '/v1/api-keys', {
        token: h().operatorToken,
        body: { kind: 'tenant' },
      });
      expectProblem(answer, 422, 'INVALID_INPUT');
      expect(answer.body).toMatchObject({
        field: 'companyId',
        rule: 'required',
      });
    });
  });

  describe('accounts overview (operator)', () => {
    it("lists every tenant's accounts for an operator, never their secrets", async () => {
      const a = await companyWithAccount(h().platform);
      const b = await companyWithAccount(h().platform);
      const answer = await h().call('GET', '/v1/readiness/accounts', {
        token: h().operatorToken,
      });
      const ids = answer.body.map((row: { id: string }) => row.id);
      expect(ids).toEqual(
        expect.arrayContaining([a.account?.id, b.account?.id]),
      );
      expect(answer.text).not.toContain(a.accountKey as string);
      expect(answer.text).not.toContain('secretEnvelope');
    });
  });

  describe('problem details and logs', () => {
    it('answers an unknown route with 404 ROUTE_NOT_FOUND, with or without a token', async () => {
      const withKey = await h().call('GET', '/v1/nothing-here', {
        token: h().operatorToken,
      });
      const withoutKey = await h().call('POST', '/v1/nothing-here');

      expectProblem(withKey, 404, 'ROUTE_NOT_FOUND');
      expectProblem(withoutKey, 404, 'ROUTE_NOT_FOUND');
      expect(withoutKey.body.detail).toBe('No route POST /v1/nothing-here');
    });

    it('still refuses a known route without a token with 401', async () => {
      const answer = await h().call('GET', '/v1/companies');
      expectProblem(answer, 401, 'AUTH_REQUIRED');
    });

    it('puts the request id on every log line of the request', async () => {
      const { token } = await tenantWithKey();
      h().platform.logs.clear();
      const answer = await h().call('POST', '/v1/accounts', {
        token,
        headers: { 'x-request-id': 'req_test_trace' },
        body: {
          kind: 'EINVOICE_EPOSLOVANJE',
          environment: 'TEST',
          secret: newApiKey('trace'),
        },
      });
      expect(answer.headers.get('x-request-id')).toBe('req_test_trace');
      const lines = h()
        .platform.logs.lines()
        .filter((l) => l.reqId === 'req_test_trace');
      const events = lines.map((l) => l.event);
      expect(events).toEqual(
        expect.arrayContaining(['account.created', 'api.request.completed']),
      );
      const completed = lines.find((l) => l.event === 'api.request.completed');
      expect(completed).toMatchObject({
        principal: 'tenant',
        apiKeyId: expect.stringMatching(/^ak_/),
        status: 201,
      });
    });
  });
});
