import { CONFUSABLES, SCRIPTS } from './unicode-data.generated.js';

/*
 * Unicode TR39 (Security Mechanisms) for usernames: skeletons, so that names
 * that look alike are one name, and the "highly restrictive" mixed-script
 * profile. The confusable table is generated from ICU's copy of
 * confusables.txt (tools/unicode/README.md); scripts come from the engine's
 * own Script_Extensions data through `\p{scx=…}`.
 */

let prototypeTable: Map<number, string> | undefined;

/** Parsed on first use (about 5,000 entries). */
function prototypes(): Map<number, string> {
  if (prototypeTable !== undefined) return prototypeTable;
  const table = new Map<number, string>();
  for (const entry of CONFUSABLES.split(';')) {
    if (entry === '') continue;
    const [source, target] = entry.split(':') as [string, string];
    table.set(Number.parseInt(source, 16), String.fromCodePoint(...target.split(' ').map((hex) => Number.parseInt(hex, 16))));
  }
  prototypeTable = table;
  return table;
}

/** TR39 skeleton: NFD, every character replaced by its prototype, NFD again. Case-sensitive (as ICU's). */
export function skeleton(text: string): string {
  const table = prototypes();
  let mapped = '';
  for (const character of text.normalize('NFD')) mapped += table.get(character.codePointAt(0) ?? 0) ?? character;
  return mapped.normalize('NFD');
}

/**
 * The skeleton two usernames are compared by. Names are case-insensitive
 * (`Alice` = `alice`), so case is folded too, and between two skeleton passes:
 * the first maps look-alikes that differ by case (`I` → `l`, Cyrillic `А` →
 * `A`), the lower-casing folds what the first pass left in capitals, the second
 * maps what lower-casing produced. So `AIice` (capital i) and `аlice`
 * (Cyrillic а) both meet `Alice`.
 */
export function nameSkeleton(username: string): string {
  // Invisible characters are refused in new names; dropping them here makes
  // a legacy `bob` + U+3164 meet a new `bob` too.
  return skeleton(skeleton(username.normalize('NFC').replace(INVISIBLE_ALL, '')).toLowerCase());
}

// --- scripts ---

const COMMON = 'Zyyy';
const INHERITED = 'Zinh';

/** The engine may not know every script of the generated list (or a newer one): such names are left out. */
const scriptPatterns: ReadonlyArray<[string, RegExp]> = SCRIPTS.flatMap((script): Array<[string, RegExp]> => {
  try {
    return [[script, new RegExp(`^\\p{scx=${script}}$`, 'u')]];
  } catch {
    return [];
  }
});

const scriptCache = new Map<number, ReadonlySet<string>>();

/** Script_Extensions of one character; a character of a script the table lacks gets a set of its own. */
function scriptExtensions(character: string): ReadonlySet<string> {
  const codePoint = character.codePointAt(0) ?? 0;
  let scripts = scriptCache.get(codePoint);
  if (scripts === undefined) {
    const found = new Set(scriptPatterns.filter(([, pattern]) => pattern.test(character)).map(([script]) => script));
    scripts = found.size > 0 ? found : new Set([`U+${codePoint.toString(16)}`]);
    // Bounded: names are at most 32 characters and there are few distinct ones in use.
    if (scriptCache.size < 10_000) scriptCache.set(codePoint, scripts);
  }
  return scripts;
}

/** TR39 §5.1: Han is also written as part of Japanese, Korean and Han-with-Bopomofo. */
const AUGMENTED: Record<string, string[]> = {
  Hani: ['Hanb', 'Jpan', 'Kore'],
  Hira: ['Jpan'],
  Kana: ['Jpan'],
  Hang: ['Kore'],
  Bopo: ['Hanb'],
};

/** TR39 §5.2 "highly restrictive": one script, or Latin with one of these CJK combinations. */
const ALLOWED_MIXES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latn', 'Hani', 'Hira', 'Kana']),
  new Set(['Latn', 'Hani', 'Bopo']),
  new Set(['Latn', 'Hani', 'Hang']),
];

const SCRIPT_NAMES: Record<string, string> = {
  Latn: 'Latin',
  Cyrl: 'Cyrillic',
  Grek: 'Greek',
  Armn: 'Armenian',
  Hani: 'Han',
  Hira: 'Hiragana',
  Kana: 'Katakana',
  Hang: 'Hangul',
  Arab: 'Arabic',
  Hebr: 'Hebrew',
  Cher: 'Cherokee',
  Geor: 'Georgian',
};

/** The scripts a name is written in (Common and Inherited left out), by their own Script values. */
function namedScripts(name: string): string[] {
  const scripts = new Set<string>();
  for (const character of name) {
    const extensions = [...scriptExtensions(character)].filter((script) => script !== COMMON && script !== INHERITED);
    const [only] = extensions;
    if (extensions.length === 1 && only !== undefined) scripts.add(only);
  }
  return [...scripts].map((script) => SCRIPT_NAMES[script] ?? script).sort();
}

/** True when `name` satisfies TR39's highly restrictive profile. */
export function isHighlyRestrictive(name: string): boolean {
  const sets: Array<ReadonlySet<string>> = [];
  for (const character of name) {
    const scripts = scriptExtensions(character);
    if ([...scripts].every((script) => script === COMMON || script === INHERITED)) continue;
    sets.push(scripts);
  }
  // Single script: the augmented sets of every character share a script.
  let resolved: Set<string> | undefined;
  for (const scripts of sets) {
    const augmented = new Set([...scripts].flatMap((script) => [script, ...(AUGMENTED[script] ?? [])]));
    resolved = resolved === undefined ? augmented : new Set([...resolved].filter((script) => augmented.has(script)));
    if (resolved.size === 0) break;
  }
  if (resolved === undefined || resolved.size > 0) return true;
  // Covered by an allowed mix: every character belongs to (at least) one of its scripts.
  return ALLOWED_MIXES.some((mix) => sets.every((scripts) => [...scripts].some((script) => mix.has(script))));
}

/**
 * Characters that show nothing or are not told apart from others: every
 * Default_Ignorable_Code_Point (joiners, variation selectors, the combining
 * grapheme joiner, Hangul fillers U+115F, U+1160, U+3164, U+FFA0, …) and the
 * Braille blank U+2800, which renders as a space.
 */
const INVISIBLE_CLASS = '[\\p{Default_Ignorable_Code_Point}\\p{Variation_Selector}\\u2800\\u3164\\u115f\\u1160\\uffa0]';
const INVISIBLE = new RegExp(INVISIBLE_CLASS, 'u');
const INVISIBLE_ALL = new RegExp(INVISIBLE_CLASS, 'gu');

/** Why `name` (NFC, already of letters, marks, digits and `_ . -`) may not be a new username; undefined if it may. */
export function lookalikeProblem(name: string): string | undefined {
  const invisible = INVISIBLE.exec(name);
  if (invisible !== null) {
    return `a username must not contain invisible or filler characters (U+${(invisible[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')})`;
  }
  // TR39's identifier profile allows only NFKC-stable characters: full-width,
  // circled, mathematical-styled letters and ligatures are other spellings of
  // ordinary ones and exist here only to imitate them.
  if (name.normalize('NFKC') !== name) return 'a username must use ordinary letters (not full-width, styled or compatibility forms)';
  if (!isHighlyRestrictive(name)) return `a username must not mix scripts (this one mixes ${namedScripts(name).join(', ')})`;
  return undefined;
}
