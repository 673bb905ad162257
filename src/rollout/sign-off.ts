import { createHash } from 'node:crypto';
import { operator, type Database } from '../db/database.js';
import { invalidInput } from '../errors/tenantgate-error.js';

/** The three sign-offs of the spec. */
export const SIGN_OFF_ROLES = [
  'Engineering Lead',
  'DevOps',
  'Product Owner',
] as const;
export type SignOffRole = (typeof SIGN_OFF_ROLES)[number];

export interface SignOff {
  id: string;
  at: Date;
  role: SignOffRole;
  name: string;
  /** SHA-256 of the signed content of the report (see evidence.ts). */
  reportSha256: string;
  /** SHA-256 over role, name, date and the report hash. */
  signature: string;
}

/** The signature of a sign-off: binds who, when and what was signed. */
export function signatureOf(
  s: Pick<SignOff, 'role' | 'name' | 'at' | 'reportSha256'>,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify([s.role, s.name, s.at.toISOString(), s.reportSha256]),
    )
    .digest('hex');
}

/** Records a sign-off of the report whose content hash is given. */
export async function recordSignOff(
  db: Database,
  input: { role: string; name: string; at: Date; reportSha256: string },
): Promise<SignOff> {
  if (!(SIGN_OFF_ROLES as readonly string[]).includes(input.role)) {
    throw invalidInput(
      'role',
      'sign-off-role',
      `role: one of ${SIGN_OFF_ROLES.join(', ')}`,
    );
  }
  const name = input.name.trim();
  if (name === '') throw invalidInput('name', 'required', 'name: required');
  const draft = {
    role: input.role as SignOffRole,
    name,
    at: input.at,
    reportSha256: input.reportSha256,
  };
  const signature = signatureOf(draft);
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ id: string }>(
      `INSERT INTO "SignOff" (at, role, name, "reportSha256", signature)
       VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [draft.at, draft.role, draft.name, draft.reportSha256, signature],
    ),
  );
  return { ...draft, id: String(rows[0]?.id), signature };
}

/** Every sign-off, oldest first. */
export async function listSignOffs(db: Database): Promise<SignOff[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<SignOff & { at: Date | string }>(
      'SELECT * FROM "SignOff" ORDER BY at, id',
    ),
  );
  return rows.map((r) => ({ ...r, id: String(r.id), at: new Date(r.at) }));
}
