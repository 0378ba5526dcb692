import { ConfigError } from '../config.js';

/** Thrown by a script to stop with a message and exit code 1, without a stack trace. */
export class ScriptError extends Error {
  override readonly name = 'ScriptError';
}

/**
 * Runs an operator script: a configuration problem or a ScriptError becomes one line on stderr and
 * exit code 1, like the server's own start-up; anything else is a bug and keeps its stack.
 */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      if (error instanceof ConfigError) process.stderr.write(`parley: invalid configuration: ${error.message}\n`);
      else if (error instanceof ScriptError) process.stderr.write(`parley: ${error.message}\n`);
      else process.stderr.write(`parley: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
