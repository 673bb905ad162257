import { expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createLogger } from '../../src/logging/logger.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { buildEvidence, evidenceMarkdown } from '../../src/rollout/evidence.js';
import { recordSignOff } from '../../src/rollout/sign-off.js';
import {
  allFlagsOnFor,
  describeRollout,
  healthyBoth,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from './support.js';

function controllerOn(d: RolloutDatabases) {
  const clock = { now: NOW };
  const controller = new RolloutController({
    control: d.production,
    databases: { staging: d.staging, production: d.production },
    audits: async () => (await sourcesOf(d)).audits,
    logger: createLogger('silent'),
    now: () => clock.now,
  });
  return { clock, controller };
}

describeRollout(
  'rollout evidence and sign-off',
  (dbs) => {
    it('fills in the checklist with figures and signs it off', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const { clock, controller } = controllerOn(d);
      await controller.advance({ actor: 'ops@example.hr' });

      const evidence = await buildEvidence(controller);

      const lines = evidence.sections.flatMap((s) => s.lines);
      const entered = lines.find((l) => l.text === 'Entered STAGING_ENFORCED');
      expect(entered).toMatchObject({
        ticked: true,
        at: NOW.toISOString(),
        figures: 'by ops@example.hr',
      });
      const send = lines.find((l) =>
        l.text.startsWith('E-invoice send success rate'),
      );
      expect(send?.ticked).toBe(true);
      expect(send?.figures).toContain('successes=100 sampleSize=100');

      for (const [role, name] of [
        ['Engineering Lead', 'Marko Kovač'],
        ['DevOps', 'Ivana Babić'],
        ['Product Owner', 'Petra Novak'],
      ] as const) {
        await recordSignOff(d.production, {
          role,
          name,
          at: NOW,
          reportSha256: evidence.contentSha256,
        });
      }
      const signed = await buildEvidence(controller);
      expect(signed.signOffs.map((s) => [s.role, s.name, s.valid])).toEqual([
        ['Engineering Lead', 'Marko Kovač', true],
        ['DevOps', 'Ivana Babić', true],
        ['Product Owner', 'Petra Novak', true],
      ]);
      const markdown = evidenceMarkdown(signed);
      expect(markdown).toContain('- [x] Entered STAGING\\_ENFORCED: **DONE**');
      expect(markdown).toContain('| DevOps | Ivana Babić |');

      clock.now = new Date(NOW.getTime() + 60_000);
      await controller.pause({ actor: 'ops', reason: 'check' });
      const changed = await buildEvidence(controller);
      expect(changed.contentSha256).not.toBe(evidence.contentSha256);
      expect(changed.signOffs.every((s) => !s.valid)).toBe(true);
      expect(evidenceMarkdown(changed)).toContain('INVALID: report changed');
    });

    it('refuses a role the spec does not name', async () => {
      await expect(
        recordSignOff(dbs().production, {
          role: 'Intern',
          name: 'X',
          at: NOW,
          reportSha256: '0'.repeat(64),
        }),
      ).rejects.toMatchObject({ details: { field: 'role' } });
    });
  },
  ['shared'],
);

describeRollout(
  'rollout report covers the spec checklist',
  (dbs) => {
    it('has a line for every box and Stage 1 criterion', async () => {
      const spec = await readFile(
        new URL(
          '../../docs/design/phase5-rollout-checklist.md',
          import.meta.url,
        ),
        'utf8',
      );
      const boxes = spec.split('\n').filter((l) => l.startsWith('- [ ]'));
      const { controller } = controllerOn(dbs());

      const evidence = await buildEvidence(controller);

      const prerequisites = evidence.sections
        .filter((s) => s.heading.startsWith('Prerequisites'))
        .flatMap((s) => s.lines);
      expect(prerequisites).toHaveLength(boxes.length);
      const stage1 = evidence.sections.find((s) =>
        s.heading.startsWith('Stage 1'),
      );
      expect(stage1?.lines.map((l) => l.text)).toEqual([
        'Entered STAGING_ENFORCED',
        'rollback.tenant_violation',
        'no_integration_required',
        'all_workers_v2',
        'all_v2',
        'operations_succeed',
        'probe_blocked',
      ]);
      expect(evidence.sections.map((s) => s.heading)).toContain(
        'Success Criteria',
      );
    });
  },
  ['shared'],
);
