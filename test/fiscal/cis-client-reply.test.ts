import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isTenantGateError,
  type TenantGateError,
} from '../../src/errors/tenantgate-error.js';
import { CisClient } from '../../src/fiscal/cis-client.js';
import { prepareReceipt } from '../../src/fiscal/receipt.js';
import { signedRacunZahtjev } from '../../src/fiscal/signed-request.js';
import {
  startCisSimulator,
  type CisSimulator,
} from '../../src/sandbox/cis-simulator.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { CERTS_DIR, fixtureSigner, receiptOf } from './support.js';

const CA = readFileSync(`${CERTS_DIR}/demo-ca.crt`);
const signer = fixtureSigner(
  new Vault(parseKeyList(`v1:${randomBytes(32).toString('base64')}`)),
  'a',
);

/**
 * An HTTPS relay in front of the simulator that rewrites each signed
 * reply: what a man in the middle (or a broken proxy) would deliver.
 */
async function relay(
  target: string,
  rewrite: (reply: string) => string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(
    {
      key: readFileSync(`${CERTS_DIR}/cis-simulator.key`),
      cert: readFileSync(`${CERTS_DIR}/cis-simulator.crt`),
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = request(
          target,
          { method: 'POST', ca: CA, headers: req.headers },
          (up) => {
            const body: Buffer[] = [];
            up.on('data', (c: Buffer) => body.push(c));
            up.on('end', () => {
              res.writeHead(up.statusCode ?? 502, {
                'content-type': 'text/xml; charset=utf-8',
              });
              res.end(rewrite(Buffer.concat(body).toString('utf8')));
            });
          },
        );
        upstream.end(Buffer.concat(chunks));
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}/FiskalizacijaServiceTest`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function through(rewrite: (reply: string) => string) {
  const proxy = await relay(sim.url, rewrite);
  const client = new CisClient({ url: proxy.url, ca: CA, timeoutMs: 5_000 });
  const request = signedRacunZahtjev(prepareReceipt(receiptOf()), signer, {
    hash: 'sha256',
  });
  try {
    return await client.fiscalize(request.xml);
  } finally {
    client.close();
    await proxy.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<TenantGateError> {
  try {
    await promise;
  } catch (error) {
    if (isTenantGateError(error)) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

let sim: CisSimulator;
beforeAll(async () => {
  sim = await startCisSimulator({ schema: false });
});
afterAll(async () => {
  await sim.close();
});

describe('the CIS client verifies the reply it is given', () => {
  it('accepts the signed reply relayed unchanged', async () => {
    const accepted = await through((reply) => reply);

    expect(accepted.jir).toBe(sim.received.at(-1)?.jir);
  });

  it('refuses a reply whose JIR changed after signing', async () => {
    const forged = '00000000-0000-4000-8000-000000000000';
    const error = await failure(
      through((reply) =>
        reply.replace(/<tns:Jir>[^<]+</, `<tns:Jir>${forged}<`),
      ),
    );

    expect(error.code).toBe('COUNTERPART_REPLY_INVALID');
    expect(error.details.reason).toBe('the reply signature does not verify');
  });

  it('refuses a reply whose envelope namespace changed (inclusive c14n)', async () => {
    const error = await failure(
      through((reply) =>
        reply.replace(
          'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"',
          'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
            'xmlns:extra="urn:x"',
        ),
      ),
    );

    expect(error.code).toBe('COUNTERPART_REPLY_INVALID');
  });

  it('refuses a signature that references another element', async () => {
    const error = await failure(
      through((reply) =>
        reply.replace(/<Reference URI="#[^"]+"/, '<Reference URI="#other"'),
      ),
    );

    expect(error.code).toBe('COUNTERPART_REPLY_INVALID');
    expect(error.details.reason).toBe(
      'the reply signature does not cover the reply',
    );
  });
});
