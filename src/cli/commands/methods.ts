/**
 * `uib methods`: the unlearning methods of the registry, each with its one-line summary and its
 * hyper-parameters (default, allowed values). `--json` prints the same as data.
 *
 *   uib methods
 *   uib methods --json
 */
import type { Command } from 'commander';
import { describeField, listMethods, paramFields } from '../../unlearn/registry.ts';

export function methodsTable(): {
  id: string;
  summary: string;
  readsRetain: boolean;
  params: Record<string, unknown>[];
}[] {
  return listMethods().map((m) => ({
    id: m.id,
    summary: m.summary,
    readsRetain: m.readsRetain,
    params: Object.entries(paramFields(m)).map(([name, f]) => ({
      name,
      default: f.default,
      allowed: describeField(f),
      description: f.description,
    })),
  }));
}

export function formatMethods(): string {
  const lines: string[] = [];
  for (const m of methodsTable()) {
    lines.push(`${m.id.padEnd(22)} ${m.summary}${m.readsRetain ? '' : ' [never reads D_r]'}`);
    const base = m.id.endsWith('+uib') ? m.id.slice(0, -4) : null;
    if (base) {
      const beta = m.params.find((q) => q.name === 'beta')?.default;
      lines.push(
        `${''.padEnd(22)} ${base}'s, plus beta=${beta} and the prior's prior* (see --json)`,
      );
      continue;
    }
    const defaults = m.params
      .map((p) => `${p.name}=${p.default === undefined ? '(unset)' : JSON.stringify(p.default)}`)
      .join(' ');
    if (defaults) lines.push(`${''.padEnd(22)} ${defaults}`);
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('methods')
    .description('list the unlearning methods with their summaries and default hyper-parameters')
    .option('--json', 'print as JSON (with allowed ranges and descriptions)')
    .action((opts: { json?: boolean }) => {
      process.stdout.write(
        opts.json ? `${JSON.stringify(methodsTable(), null, 2)}\n` : formatMethods(),
      );
    });
}
