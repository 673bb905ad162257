import { openTenantGate, type OpenOptions, type TenantGate } from '../app.js';
import { loadSettings } from '../config/settings.js';

/** Wraps a command action so its exit code reaches the CLI entry. */
export type Act = <A extends unknown[]>(
  fn: (...args: A) => Promise<number>,
) => (...args: A) => Promise<void>;

/**
 * Opens TenantGate for one command and closes it afterwards. The
 * action's return value is the exit code (default 0).
 */
export async function withApp(
  run: (app: TenantGate) => Promise<number | void>,
  options: OpenOptions = {},
): Promise<number> {
  const app = await openTenantGate(loadSettings(), {
    allowLocalKey: true,
    ...options,
  });
  try {
    return (await run(app)) ?? 0;
  } finally {
    await app.close();
  }
}
