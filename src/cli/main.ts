/**
 * The `uib` command. Each verb lives in `commands/<verb>.ts` and exports `register(program)`;
 * this file wires them, and is the only place that prints errors and picks exit codes:
 * `UsageError` → one line on stderr, exit 2; a file-system error → its path in plain words, exit 2
 * when the path given is at fault (exit 1 for the machine's: no space, I/O); any other fault → one
 * line, exit 1 (stack with UIB_DEBUG=1).
 */
import { Command, CommanderError } from 'commander';
import { errnoError, isUsageError, oneLine } from '../core/errors.ts';
import { setStepProgress } from '../train/progress.ts';
import { terminalStepProgress } from '../train/progress-terminal.ts';
import { COMMANDS } from './commands/index.ts';

setStepProgress(terminalStepProgress);

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('uib')
    .description('Machine unlearning for TensorFlow.js models (Unlearning Information Bottleneck)')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
  for (const register of COMMANDS) register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/**
 * `uib --version --verbose`: the version, then the compute route this machine gives (backend,
 * kernels, their BLAS and threads) and why the native addon is missing when it is. Starts the
 * backend, so it is kept off the plain `--version` path.
 */
async function printVerboseVersion(): Promise<void> {
  const [{ initBackend, nativeUnavailableReason }, { computeEnvironment, describeEnvironment }] =
    await Promise.all([import('../backend/index.ts'), import('../backend/environment.ts')]);
  await initBackend();
  const env = computeEnvironment();
  const missing = env.backend === 'wasm' && !env.addon ? nativeUnavailableReason() : undefined;
  process.stdout.write(
    `uib ${VERSION}\nroute: ${describeEnvironment(env)}${missing ? ` (native addon: ${missing})` : ''}\ntfjs ${env.tfjs}, node ${env.node}\n`,
  );
}

/** Run the CLI on `argv` (without `node uib`); resolves to the exit code. Never calls process.exit. */
export async function run(argv: string[]): Promise<number> {
  if (
    argv.length === 2 &&
    argv.includes('--verbose') &&
    argv.some((a) => a === '--version' || a === '-V')
  ) {
    await printVerboseVersion();
    return 0;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      return 2; // commander already printed its one-line message
    }
    if (isUsageError(e)) {
      process.stderr.write(`uib: ${oneLine(e)}\n`);
      return 2;
    }
    // A file-system error that escaped a command: its path and plain words, never the raw errno text.
    const fsError = errnoError(e);
    if (fsError) {
      process.stderr.write(`uib: ${oneLine(fsError.message)}\n`);
      if (process.env.UIB_DEBUG && e instanceof Error && e.stack)
        process.stderr.write(`${e.stack}\n`);
      return fsError.usage ? 2 : 1;
    }
    process.stderr.write(`uib: error: ${oneLine(e)}\n`);
    if (process.env.UIB_DEBUG && e instanceof Error && e.stack)
      process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
