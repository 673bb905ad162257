import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  localKeyPath,
  openLocalKeyFile,
} from '../../src/vault/local-key-file.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'tenantgate-local-key-'));

describe('the embedded demo keeps one local master key per data folder', () => {
  it('keeps .data/vault-key.json for the default .data/pglite', () => {
    expect(localKeyPath('.data/pglite')).toBe(join('.data', 'vault-key.json'));
    expect(localKeyPath(resolve('.data/pglite'))).toBe(
      resolve('.data/vault-key.json'),
    );
  });

  it('gives two folders sharing a parent two different keys beside them', () => {
    const parent = tempDir();

    const a = openLocalKeyFile(join(parent, 'a'));
    const b = openLocalKeyFile(join(parent, 'b/'));

    expect(a).toEqual({
      path: join(parent, 'a.vault-key.json'),
      created: true,
      previousLocation: false,
    });
    expect(b.path).toBe(join(parent, 'b.vault-key.json'));
    expect(readFileSync(a.path, 'utf8')).not.toBe(readFileSync(b.path, 'utf8'));
    expect(existsSync(join(parent, 'vault-key.json'))).toBe(false);
    expect(openLocalKeyFile(join(parent, 'a')).created).toBe(false);
  });

  it("keeps using the parent's key for an existing database that has no key of its own", () => {
    const parent = tempDir();
    const old = join(parent, 'vault-key.json');
    writeFileSync(old, '{"active":"v1","keys":{}}\n');
    mkdirSync(join(parent, 'existing'));
    writeFileSync(join(parent, 'existing', 'PG_VERSION'), '17\n');

    const existing = openLocalKeyFile(join(parent, 'existing'));
    const fresh = openLocalKeyFile(join(parent, 'fresh'));

    expect(existing).toEqual({
      path: old,
      created: false,
      previousLocation: true,
    });
    expect(fresh).toMatchObject({
      path: join(parent, 'fresh.vault-key.json'),
      created: true,
      previousLocation: false,
    });
  });

  it('names TENANTGATE_DATA_DIR when the key cannot be written beside it', () => {
    expect(() => openLocalKeyFile('/proc/nope')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        details: expect.objectContaining({ field: 'TENANTGATE_DATA_DIR' }),
      }),
    );
  });

  it('tenantgate on a data folder of its own writes the key beside that folder', async () => {
    const parent = tempDir();
    const dataDir = join(parent, 'tenant-db');

    const code = await new Promise<number | null>((done, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'accounts', 'list'],
        {
          env: {
            PATH: process.env.PATH,
            TENANTGATE_DATA_DIR: dataDir,
            LOG_LEVEL: 'silent',
          },
          stdio: 'ignore',
        },
      );
      child.on('error', reject);
      child.on('close', done);
    });

    expect(code).toBe(0);
    expect(existsSync(join(parent, 'tenant-db.vault-key.json'))).toBe(true);
    expect(existsSync(join(parent, 'vault-key.json'))).toBe(false);
  }, 120_000);
});
