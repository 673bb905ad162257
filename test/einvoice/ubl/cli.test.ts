import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../../src/cli/commands.js';
import { baseModel } from './sample-models.js';

const sample = fileURLToPath(
  new URL(
    '../../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
    import.meta.url,
  ),
);

async function run(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi
    .spyOn(console, 'log')
    .mockImplementation((line: unknown) => void lines.push(String(line)));
  let code = -1;
  await buildProgram((c) => (code = c)).parseAsync([
    'node',
    'tenantgate',
    ...args,
  ]);
  log.mockRestore();
  return { code, out: lines.join('\n') };
}

describe('tenantgate ubl', () => {
  afterEach(() => vi.restoreAllMocks());

  it('validate prints the findings as JSON and exits 1', async () => {
    const { code, out } = await run(
      'ubl',
      'validate',
      sample,
      '--rules-only',
      '--json',
    );

    expect(code).toBe(1);
    const rules = (JSON.parse(out) as { rule: string }[]).map((f) => f.rule);
    expect(rules).toEqual(['HR-BR-40', 'HR-BR-9', 'HR-BR-53']);
  });

  it('build writes a valid document from a JSON model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ubl-cli-'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(baseModel()));

    const { code } = await run(
      'ubl',
      'build',
      '--model',
      join(dir, 'model.json'),
      '--out',
      join(dir, 'invoice.xml'),
    );

    expect(code).toBe(0);
    expect(readFileSync(join(dir, 'invoice.xml'), 'utf8')).toContain(
      '<cbc:ProfileID>P1</cbc:ProfileID>',
    );
  });
});
