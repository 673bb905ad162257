import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/errors/catalogue.js';
import { catalogueMarkdown } from '../../src/errors/catalogue-markdown.js';
import {
  TenantGateError,
  toTenantGateError,
} from '../../src/errors/tenantgate-error.js';

describe('error catalogue', () => {
  it('ships docs/error-codes.md generated from the catalogue', () => {
    const shipped = readFileSync('docs/error-codes.md', 'utf8');
    expect(shipped).toBe(catalogueMarkdown());
  });

  it('gives every code a unique name ending in Error', () => {
    const names = Object.values(ERROR_CATALOGUE).map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/Error$/);
  });

  it('marks tenant violations and missing integrations as P0', () => {
    expect(ERROR_CATALOGUE.TENANT_VIOLATION.severity).toBe('P0');
    expect(ERROR_CATALOGUE.INTEGRATION_REQUIRED.severity).toBe('P0');
  });

  it('normalizes unknown throws once and keeps the cause', () => {
    const original = new RangeError('boom');
    const error = toTenantGateError(original);
    expect(error.code).toBe('INTERNAL');
    expect(error.cause).toBe(original);
    expect(toTenantGateError(error)).toBe(error);
  });

  it('serializes code, severity, retryable and details', () => {
    const error = new TenantGateError('COUNTERPART_UNAVAILABLE', 'down', {
      companyId: 'c1',
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'CounterpartUnavailableError',
      code: 'COUNTERPART_UNAVAILABLE',
      severity: 'P1',
      retryable: true,
      message: 'down',
      details: { companyId: 'c1' },
    });
  });
});
