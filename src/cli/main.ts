/**
 * The `uib` command. Each verb lives in `commands/<verb>.ts` and exports `register(program)`;
 * this file wires them, and is the only place that prints errors and picks exit codes:
 * `UsageError` → one line on stderr, exit 2; a file-system error → its path in plain words, exit 2
 * when the path given is at fault (exit 1 for the machine's: no space, I/O); any other fault → one
 * line, exit 1 (stack with UIB_DEBUG=1).
 */
import { Command, CommanderError } from 'commander';
import { errnoError, isUsageError, oneLine } from '../core/errors.ts';
import { COMMANDS } from './commands/index.ts';

export function buildProgram(): Command {
  const program = new Command('uib')
    .description('Machine unlearning for TensorFlow.js models (Unlearning Information Bottleneck)')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
  for (const register of COMMANDS) register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Run the CLI on `argv` (without `node uib`); resolves to the exit code. Never calls process.exit. */
export async function run(argv: string[]): Promise<number> {
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
