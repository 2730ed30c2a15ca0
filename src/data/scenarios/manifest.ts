/**
 * The scenario manifest: everything that fixes a forget scenario, as JSON that every method and
 * metric reads, so all of them see identical splits. It stores indices (into the data set's
 * source splits) and hashes, never pixels: corruptions are deterministic per sample, so the
 * inputs are rebuilt from (seed, split, index), and `inputsHash` proves they came out the same.
 *
 * Reading validates with zod and then checks the index lists against each other; every problem
 * is a one-line UsageError naming the file and the field.
 */
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { MiB, parseJsonChecked, readTextChecked } from '../../core/read.ts';
import { CORRUPTIONS, isCorruptionName } from '../corruptions/index.ts';
import { datasetInfo } from '../registry.ts';

export const MANIFEST_SCHEMA_VERSION = 1;
/**
 * A manifest lists each training sample at most 4 times (train, forget or retain, patterned,
 * colours) and each test sample 3: EMNIST ByClass, the largest set the IDX reader admits
 * (697,932 + 116,323 samples), makes 3.14 M indices, ≤ 14 bytes each even pretty-printed
 * (6 digits, comma, newline, 6 spaces): ≈ 44 MB.
 */
export const MANIFEST_MAX_BYTES = 64 * MiB;

/** A pattern is one of the 15 MNIST-C corruptions or `patch` (3x3 white square, bottom-right). */
export const PATTERN_NAMES: readonly string[] = [...CORRUPTIONS, 'patch'];
export const isPatternName = (s: string): boolean => s === 'patch' || isCorruptionName(s);

const fraction = z.number().gt(0).lt(1);
const fractionOrOne = z.number().gt(0).lte(1);
const classId = z.number().int().min(0);
const pattern = z.string().refine(isPatternName, {
  message: `must be one of ${PATTERN_NAMES.join(', ')}`,
});

export const RandomParams = z.strictObject({
  kind: z.literal('random'),
  /** Fraction of the training set to forget, in (0, 1). */
  forgetFraction: fraction,
});
export const ClassParams = z.strictObject({
  kind: z.literal('class'),
  forgetClass: classId,
});
export const PatternParams = z.strictObject({
  kind: z.literal('pattern'),
  corruption: pattern,
  forgetClass: classId,
  /** Fraction of class `forgetClass` that carries the pattern (the sub-class to forget). */
  rho: fractionOrOne,
  /** Fraction of all test samples patterned in the biased test set. */
  testFraction: fraction,
});
export const BiasParams = z.strictObject({
  kind: z.literal('bias'),
  corruption: pattern,
  biasClass: classId,
  /** Fraction of class `biasClass` patterned. */
  rho: fractionOrOne,
  /** Fraction of every other class patterned (q ≪ rho). */
  q: z.number().min(0).lt(1),
  testFraction: fraction,
});
export const ColourParams = z.strictObject({
  kind: z.literal('colour'),
  /** Share of each class with its own background colour (ReBias: 0.99 ... 0.999). */
  rho: fractionOrOne,
  /** The same for the test set (0.1: colours carry no label information). */
  testRho: fractionOrOne,
  /** Forget the bias-aligned samples of this class, or of all classes when null. */
  forgetClass: classId.nullable(),
});
export const BackdoorParams = z.strictObject({
  kind: z.literal('backdoor'),
  /** Fraction of the training set stamped and relabelled. */
  poisonFraction: fraction,
  targetClass: classId,
});
/** What a shortcut scenario's bias is: the ReBias background colour, or a pattern tied to one class. */
export const SHORTCUT_ATTRIBUTES: readonly string[] = ['colour', ...PATTERN_NAMES];
export const ShortcutParams = z.strictObject({
  kind: z.literal('shortcut'),
  /** `colour`: each class its own background colour; a pattern: the pattern marks `biasClass`. */
  attribute: z.string().refine((s) => s === 'colour' || isPatternName(s), {
    message: `must be one of ${SHORTCUT_ATTRIBUTES.join(', ')}`,
  }),
  /** The class whose shortcut is forgotten: ΔD = its bias-aligned training samples. */
  biasClass: classId,
  /** Share of every class that is bias-aligned in training (the field's 99.5 : 0.5). */
  alignedFraction: fractionOrOne.default(0.995),
  /** The same in the test set; 0.5 puts as many conflicting as aligned samples in every class. */
  testAlignedFraction: fraction.default(0.5),
});
export const SubgroupParams = z.strictObject({
  kind: z.literal('subgroup'),
  group: z.string().min(1),
  value: z.string().min(1),
  /** If set, add a binary column equal to the label with this probability inside the subgroup. */
  spuriousRho: fractionOrOne.nullable(),
});

export const ScenarioParams = z.discriminatedUnion('kind', [
  RandomParams,
  ClassParams,
  PatternParams,
  BiasParams,
  ColourParams,
  BackdoorParams,
  SubgroupParams,
  ShortcutParams,
]);
export type ScenarioParams = z.infer<typeof ScenarioParams>;
export type ScenarioKindId = ScenarioParams['kind'];
export const SCENARIO_KINDS: readonly ScenarioKindId[] = [
  'random',
  'class',
  'pattern',
  'bias',
  'colour',
  'backdoor',
  'subgroup',
  'shortcut',
];

const hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
/** Indices are stored as Uint32 when materialised: a larger one would wrap onto another sample. */
const indexList = z.array(z.number().int().min(0).max(0xffffffff));
const subset = z.strictObject({ size: z.number().int().min(1), seed: z.number().int() }).nullable();

export const Manifest = z.strictObject({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  dataset: z.strictObject({ id: z.string(), dir: z.string().nullable() }),
  seed: z.number().int(),
  trainSubset: subset,
  testSubset: subset,
  scenario: ScenarioParams,
  /** SHA-256 of each source split (`sourceDigest`). */
  dataHash: z.strictObject({ train: hex, test: hex }),
  /** SHA-256 of the materialised training inputs, in `indices.train` order (`viewDigest`). */
  inputsHash: z.strictObject({ train: hex }),
  counts: z.strictObject({
    train: z.number().int(),
    forget: z.number().int(),
    retain: z.number().int(),
    test: z.number().int(),
  }),
  /** Source indices, ascending. forget ∪ retain = train, disjoint. */
  indices: z.strictObject({
    train: indexList,
    forget: indexList,
    retain: indexList,
    test: indexList,
  }),
  /** Source indices of samples carrying the pattern/trigger, where the kind has one (bias, pattern: b(x) = 1). */
  patterned: z.strictObject({ train: indexList, test: indexList }).nullable(),
  /** Background colour id per position of indices.train / indices.test (colour, shortcut on colour). */
  colours: z.strictObject({ train: indexList, test: indexList }).nullable(),
});
export type Manifest = z.infer<typeof Manifest>;

function isAscendingUnique(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] <= a[i - 1]) return false;
  return true;
}

function isSubsetOf(sub: readonly number[], of: readonly number[]): boolean {
  const s = new Set(of);
  return sub.every((v) => s.has(v));
}

/** Cross-field checks zod cannot express; throws UsageError(where, ...). */
export function checkManifest(m: Manifest, where: string): void {
  // Checked here, so that loading the data later cannot blame a flag the user never gave.
  datasetInfo(m.dataset.id, `${where}: dataset.id`);
  const { indices: ix } = m;
  for (const k of ['train', 'forget', 'retain', 'test'] as const) {
    if (!isAscendingUnique(ix[k])) {
      throw new UsageError(where, `indices.${k} must be ascending without repeats`);
    }
  }
  if (ix.forget.length === 0) throw new UsageError(where, 'empty forget set (indices.forget)');
  if (ix.test.length === 0) throw new UsageError(where, 'empty test set (indices.test)');
  if (ix.forget.length + ix.retain.length !== ix.train.length) {
    throw new UsageError(
      where,
      `indices.forget (${ix.forget.length}) + indices.retain (${ix.retain.length}) must equal indices.train (${ix.train.length})`,
    );
  }
  const forget = new Set(ix.forget);
  if (
    ix.retain.some((i) => forget.has(i)) ||
    !isSubsetOf(ix.forget, ix.train) ||
    !isSubsetOf(ix.retain, ix.train)
  ) {
    throw new UsageError(where, 'indices.forget and indices.retain must split indices.train');
  }
  const counts = {
    train: ix.train.length,
    forget: ix.forget.length,
    retain: ix.retain.length,
    test: ix.test.length,
  };
  for (const k of Object.keys(counts) as (keyof typeof counts)[]) {
    if (m.counts[k] !== counts[k]) {
      throw new UsageError(
        where,
        `counts.${k} is ${m.counts[k]} but indices.${k} has ${counts[k]}`,
      );
    }
  }
  // Each kind's materialiser relies on these being present (or absent) as the kind writes them.
  const sc = m.scenario;
  const kind = sc.kind;
  // A shortcut scenario stores its attribute as the colour kind or the pattern kinds store theirs.
  const colourKind = kind === 'colour' || (kind === 'shortcut' && sc.attribute === 'colour');
  const patternedKind =
    kind === 'pattern' ||
    kind === 'bias' ||
    kind === 'backdoor' ||
    (kind === 'shortcut' && !colourKind);
  const what = kind === 'shortcut' ? `kind shortcut on ${sc.attribute}` : `kind ${kind}`;
  if (patternedKind !== (m.patterned !== null))
    throw new UsageError(
      where,
      `patterned must be ${patternedKind ? 'given' : 'null'} for ${what}`,
    );
  if (colourKind !== (m.colours !== null))
    throw new UsageError(where, `colours must be ${colourKind ? 'given' : 'null'} for ${what}`);
  if (m.patterned) {
    if (!isAscendingUnique(m.patterned.train) || !isSubsetOf(m.patterned.train, ix.train))
      throw new UsageError(
        where,
        'patterned.train must be ascending source indices within indices.train',
      );
    if (!isAscendingUnique(m.patterned.test) || !isSubsetOf(m.patterned.test, ix.test))
      throw new UsageError(
        where,
        'patterned.test must be ascending source indices within indices.test',
      );
  }
  if (m.colours) {
    if (m.colours.train.length !== ix.train.length || m.colours.test.length !== ix.test.length)
      throw new UsageError(where, 'colours.train/test must have one entry per indices.train/test');
    if ([...m.colours.train, ...m.colours.test].some((c) => c > 9))
      throw new UsageError(where, 'colours must be colour ids 0-9');
  }
}

/** Parse and check a manifest from text; `where` names the file in errors. */
export function parseManifest(text: string, where: string): Manifest {
  const r = Manifest.safeParse(parseJsonChecked(text, where));
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.join('.') || '(top level)';
    throw new UsageError(where, `${field}: ${issue.message}`);
  }
  checkManifest(r.data, where);
  return r.data;
}

export function readManifest(file: string): Manifest {
  const text = readTextChecked(file, {
    maxBytes: MANIFEST_MAX_BYTES,
    missing: 'cannot read: no such file (ENOENT)',
    what: 'a scenario manifest',
  });
  return parseManifest(text, file);
}

/**
 * Canonical text of a manifest: 2-space JSON, but number arrays on one line (a 60k index list
 * stays one line, not 60k). Same manifest, same bytes.
 */
export function formatManifest(m: Manifest): string {
  const text = JSON.stringify(m, null, 2).replace(/\[[\d,\s]*\]/g, (a) => a.replace(/\s+/g, ''));
  return `${text}\n`;
}

export function writeManifest(file: string, m: Manifest): void {
  writeFileAtomic(file, formatManifest(m));
}
