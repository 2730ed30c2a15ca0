/**
 * `uib metrics`: the metrics of the registry, each with its direction (↑, ↓, →R: closest to
 * Retrain), unit, range, what it needs beyond the three prediction sets, and its definition in one
 * line. `--json` prints the same as data.
 *
 *   uib metrics
 *   uib metrics --json
 */
import type { Command } from 'commander';
import { METRICS } from '../../eval/registry.ts';

export function metricsTable(): {
  id: string;
  summary: string;
  direction: string;
  unit: string;
  min: number | null;
  max: number | null;
  needs: string[];
  default: boolean;
}[] {
  return METRICS.map((m) => ({
    id: m.id,
    summary: m.summary,
    direction: m.direction,
    unit: m.unit,
    min: m.min ?? null,
    max: m.max ?? null,
    needs: [...m.needs],
    default: !m.optional,
  }));
}

const MARK: Record<string, string> = { higher: '↑', lower: '↓', 'match-retrain': '→R' };

export function formatMetrics(): string {
  const lines = metricsTable().map((m) => {
    const range = `[${m.min ?? '−∞'}, ${m.max ?? '∞'}]`;
    const extra = [m.default ? '' : 'optional', m.needs.length ? `needs ${m.needs.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    return `${m.id.padEnd(16)} ${MARK[m.direction].padEnd(3)} ${m.unit.padEnd(11)} ${range.padEnd(12)} ${m.summary}${extra ? ` (${extra})` : ''}`;
  });
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('metrics')
    .description('list the metrics with their direction, unit, range and definition')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => {
      process.stdout.write(
        opts.json ? `${JSON.stringify(metricsTable(), null, 2)}\n` : formatMetrics(),
      );
    });
}
