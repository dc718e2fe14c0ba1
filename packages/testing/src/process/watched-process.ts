import { spawn, type ChildProcess } from 'node:child_process';

// A shell between us and the server stops it if this process dies without
// cleaning up, so no broker or Keycloak outlives a killed test run.
// A server that ignores TERM for 20 s gets KILL.
const WATCHDOG = `
"$@" >>"$STREAM_APP_LOG" 2>&1 &
server=$!
stop() { kill -TERM $server 2>/dev/null; ( sleep 20; kill -KILL $server 2>/dev/null ) & wait $server; exit 0; }
trap stop TERM INT
while kill -0 "$STREAM_APP_PARENT" 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 1 & wait $!; done
stop
`;

/** Starts `command` in its own process group, its output appended to `logFile`, stopped if we die. */
export function spawnWatched(command: string[], logFile: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('bash', ['-c', WATCHDOG, 'stream-app-watchdog', ...command], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ...env, STREAM_APP_LOG: logFile, STREAM_APP_PARENT: String(process.pid) },
  });
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM to the whole group, SIGKILL after `timeoutMs`. */
export async function stopWatched(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Sends SIGTERM to the current process's group when this process exits; returns the undo. */
export function stopOnExit(current: () => ChildProcess): () => void {
  const hook = () => {
    const pid = current().pid;
    if (pid !== undefined) signalGroup(pid, 'SIGTERM');
  };
  process.once('exit', hook);
  return () => process.off('exit', hook);
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
