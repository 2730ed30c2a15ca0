/**
 * Parsers for CLI option values: each names its flag in the error (`--epochs: must be a positive
 * integer; got "x"`), so commands never validate numbers by hand.
 */
import { Option } from 'commander';
import { parseBackendName } from '../backend/index.ts';
import { UsageError } from '../core/errors.ts';

export function intOption(flag: string, opts: { min?: number; max?: number } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = opts;
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(flag, `must be an integer${rangeText(min, max)}; got "${value}"`);
    }
    return n;
  };
}

export function floatOption(
  flag: string,
  opts: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean } = {},
) {
  return (value: string): number => {
    const n = Number(value);
    const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = opts;
    const lowOk = opts.exclusiveMin ? n > min : n >= min;
    const highOk = opts.exclusiveMax ? n < max : n <= max;
    if (value.trim() === '' || !Number.isFinite(n) || !lowOk || !highOk) {
      const lo = opts.exclusiveMin ? '(' : '[';
      const hi = opts.exclusiveMax ? ')' : ']';
      const range =
        Number.isFinite(min) || Number.isFinite(max) ? ` in ${lo}${min}, ${max}${hi}` : '';
      throw new UsageError(flag, `must be a number${range}; got "${value}"`);
    }
    return n;
  };
}

export function choiceOption<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new UsageError(flag, `must be one of ${choices.join(', ')}; got "${value}"`);
  };
}

/** `--backend <name>`, as every command that computes takes it. */
export function backendOption(): Option {
  return new Option(
    '--backend <name>',
    'compute backend: wasm, cpu, webgpu, tensorflow (default: $UIB_BACKEND, else wasm)',
  ).argParser((v) => parseBackendName(v));
}

/** `--seed <n>`, an integer 0 … 2^32−1; `help` says what it seeds. */
export function seedOption(help: string, fallback?: number): Option {
  return new Option('--seed <n>', help)
    .default(fallback)
    .argParser(intOption('--seed', { min: 0, max: 0xffffffff }));
}

function rangeText(min: number, max: number): string {
  if (Number.isFinite(min) && Number.isFinite(max)) return ` in [${min}, ${max}]`;
  if (Number.isFinite(min)) return ` ≥ ${min}`;
  if (Number.isFinite(max)) return ` ≤ ${max}`;
  return '';
}
