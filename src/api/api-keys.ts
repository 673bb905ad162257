import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { operator, type Database } from '../db/database.js';
import { companyNotFound, invalidInput } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';

/** `operator`: acts across companies; `tenant`: on one company only. */
export type ApiKeyKind = 'operator' | 'tenant';

/** An API key as stored: never the token, only its hash (not shown). */
export interface ApiKey {
  id: string;
  kind: ApiKeyKind;
  companyId: string | null;
  label: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Who a request authenticated as. */
export type Principal =
  | { kind: 'operator'; keyId: string }
  | { kind: 'tenant'; keyId: string; companyId: string };

export interface CreateApiKeyInput {
  kind: ApiKeyKind;
  /** Required for a tenant key, refused for an operator key. */
  companyId?: string;
  label?: string;
}

/** A new key and its token: the only time the token exists in clear. */
export interface CreatedApiKey {
  key: ApiKey;
  token: string;
}

const COLUMNS = `id, kind, "companyId", label, "createdAt", "revokedAt",
  "lastUsedAt"`;

const TOKEN_PREFIX: Record<ApiKeyKind, string> = {
  operator: 'tgo_',
  tenant: 'tgt_',
};

/**
 * The SHA-256 of a token, hex. Tokens are 32 random bytes, so a fast
 * hash is safe: there is nothing to brute-force.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * API keys of the HTTP API: create (the token is returned once), list,
 * revoke, and authenticate a bearer token. Keys are looked up by hash
 * before the tenant is known, so this runs in operator scope.
 */
export class ApiKeyService {
  constructor(private readonly deps: { db: Database; logger: Logger }) {}

  async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const companyId = companyFor(input);
    const token = TOKEN_PREFIX[input.kind] + randomBytes(32).toString('hex');
    const id = `ak_${randomUUID()}`;
    const key = await this.deps.db.transaction(operator, async (tx) => {
      if (companyId !== null) {
        const company = await tx.query(
          'SELECT 1 FROM "Company" WHERE id = $1',
          [companyId],
        );
        if (company.length === 0) {
          throw companyNotFound(companyId);
        }
      }
      const rows = await tx.query<ApiKey>(
        `INSERT INTO "ApiKey" (id, "keyHash", kind, "companyId", label)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [id, hashToken(token), input.kind, companyId, input.label ?? null],
      );
      return rows[0] as ApiKey;
    });
    this.deps.logger.info({
      event: 'api_key.created',
      apiKeyId: id,
      kind: input.kind,
      companyId,
    });
    return { key, token };
  }

  async list(): Promise<ApiKey[]> {
    return this.deps.db.transaction(operator, (tx) =>
      tx.query<ApiKey>(`SELECT ${COLUMNS} FROM "ApiKey" ORDER BY "createdAt"`),
    );
  }

  /**
   * A fresh operator key under `label`, revoking the earlier live keys
   * with that label: for `npm start` to print a dashboard link on each
   * run without piling up keys.
   */
  async replaceLabelled(label: string): Promise<CreatedApiKey> {
    await this.deps.db.transaction(operator, (tx) =>
      tx.query(
        `UPDATE "ApiKey" SET "revokedAt" = now()
          WHERE label = $1 AND kind = 'operator' AND "revokedAt" IS NULL`,
        [label],
      ),
    );
    return this.create({ kind: 'operator', label });
  }

  /** Revokes the key; requests with its token fail from now on. */
  async revoke(id: string): Promise<ApiKey> {
    const rows = await this.deps.db.transaction(operator, (tx) =>
      tx.query<ApiKey>(
        `UPDATE "ApiKey" SET "revokedAt" = COALESCE("revokedAt", now())
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      ),
    );
    if (!rows[0]) {
      throw invalidInput('id', 'exists', `id: no API key '${id}'`, {
        apiKeyId: id,
      });
    }
    this.deps.logger.info({ event: 'api_key.revoked', apiKeyId: id });
    return rows[0];
  }

  /**
   * The principal of a live (not revoked) token, or null. One round
   * trip; `lastUsedAt` is touched at most once a minute.
   */
  async authenticate(token: string): Promise<Principal | null> {
    const [rows] = await this.deps.db.batch(operator, [
      {
        sql: `WITH k AS (
            SELECT id, kind, "companyId", "lastUsedAt" FROM "ApiKey"
             WHERE "keyHash" = $1 AND "revokedAt" IS NULL
          ), touched AS (
            UPDATE "ApiKey" SET "lastUsedAt" = now()
             WHERE id IN (SELECT id FROM k WHERE "lastUsedAt" IS NULL
                OR "lastUsedAt" < now() - interval '1 minute')
          )
          SELECT id, kind, "companyId" FROM k`,
        params: [hashToken(token)],
      },
    ]);
    const row = rows?.[0] as
      { id: string; kind: ApiKeyKind; companyId: string | null } | undefined;
    if (!row) return null;
    if (row.kind === 'operator') return { kind: 'operator', keyId: row.id };
    return { kind: 'tenant', keyId: row.id, companyId: row.companyId ?? '' };
  }
}

function companyFor(input: CreateApiKeyInput): string | null {
  if (input.kind === 'tenant') {
    if (!input.companyId) {
      throw invalidInput(
        'companyId',
        'required',
        'companyId: a tenant key belongs to one company',
      );
    }
    return input.companyId;
  }
  if (input.companyId) {
    throw invalidInput(
      'companyId',
      'operator-key-has-no-company',
      'companyId: an operator key acts for every company; name none',
    );
  }
  return null;
}
