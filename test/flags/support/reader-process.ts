import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./flag-reader.ts', import.meta.url));

/** A separate Node process reading one flag from the store. */
export interface ReaderProcess {
  child: ChildProcess;
  /** Epoch ms at which the process saw the flag on. */
  seenOn: Promise<number>;
}

/** Starts the reader; resolves once it has loaded the store. */
export async function startReader(
  url: string,
  flag: string,
): Promise<ReaderProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', SCRIPT, url, flag],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({
    input: child.stdout as NodeJS.ReadableStream,
  });
  let ready: () => void = () => undefined;
  let seen: (ms: number) => void = () => undefined;
  const readyP = new Promise<void>((r) => (ready = r));
  const seenOn = new Promise<number>((r) => (seen = r));
  lines.on('line', (line) => {
    if (line === 'ready') ready();
    if (line.startsWith('on ')) seen(Number(line.slice(3)));
  });
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`reader exited with ${code}`))),
  );
  await Promise.race([readyP, exited]);
  exited.catch(() => undefined);
  return { child, seenOn };
}
