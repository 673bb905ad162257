import { describe, expect, it } from 'vitest';
import { EINVOICE_KINDS } from '../../src/accounts/kinds.js';
import { createIntermediaryDirectory } from '../../src/einvoice/directory.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';

const directory = (endpoints = {}) =>
  createIntermediaryDirectory({
    softwareId: 'TenantGate-test',
    timeoutMs: 1_000,
    accountEnvironment: 'TEST',
    endpoints,
  });

describe('intermediary directory', () => {
  it.each(EINVOICE_KINDS)('builds the %s client for its kind', (kind) => {
    const client = directory({ [kind]: 'http://127.0.0.1:9' }).client(
      kind,
      null,
    );

    expect(client.kind).toBe(kind);
  });

  it('uses the account endpoint over the override, one client per endpoint', () => {
    const dir = directory({ EINVOICE_IE_RACUNI: 'http://127.0.0.1:9' });
    const account = (baseUrl: string) => ({
      id: 'ia_1',
      companyId: 'co_1',
      kind: 'EINVOICE_IE_RACUNI' as const,
      environment: 'TEST' as const,
      providerConfig: { baseUrl },
    });

    const a = dir.client('EINVOICE_IE_RACUNI', account('http://127.0.0.1:10'));
    const b = dir.client('EINVOICE_IE_RACUNI', account('http://127.0.0.1:10'));
    const c = dir.client('EINVOICE_IE_RACUNI', null);

    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it.each(['EINVOICE_IE_RACUNI', 'EINVOICE_FINA'] as const)(
    'refuses %s without an endpoint (no public default is assumed)',
    (kind) => {
      let error: unknown;
      try {
        directory().client(kind, null);
      } catch (e) {
        error = e;
      }

      expect(error).toBeInstanceOf(TenantGateError);
      expect((error as TenantGateError).details).toMatchObject({
        field: 'providerConfig.baseUrl',
      });
    },
  );
});
