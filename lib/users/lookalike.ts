/**
 * Look-alike names: the keys two names share when a person could take one for the other, so a
 * name whose key an existing user holds is refused. Each name has two keys, and two names
 * collide when either matches:
 *
 * - `skeleton`: the UTS #39 skeleton taken without regard to case, skeleton(fold(skeleton(x))),
 *   so `Тоm` (Cyrillic Т and о), `Tоm` and `Τom` (Greek Τ) all meet `Tom` and `tom`;
 * - `folded`: the skeleton of the full case fold, skeleton(fold(x)), with the dotted and dotless
 *   i of Turkish taken as i, so `Straße`/`STRASSE` and `TİM`/`tım`/`tim` meet.
 *
 * The skeleton (UTS #39 section 4): NFD, without default-ignorable code points, each character
 * mapped to its prototype in `confusables.txt` (embedded from npm `unhomoglyph`), NFD again.
 * The full case fold is `toUpperCase().toLowerCase()`, which folds `ß` to `ss` and `ı` to `i`.
 */
import { CONFUSABLES_JSON } from "./confusables_data.ts";

/** The two keys of a name; see the module comment. */
export interface LookalikeKeys {
  readonly skeleton: string;
  readonly folded: string;
}

// Default-ignorable code points that Unicode classes as marks or letters (others, like format
// characters, cannot be in a name at all): invisible, so a name must not differ by them.
export const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/gu;

/** Builds the lookup once: from each source sequence to its prototype. */
function table(): { readonly map: ReadonlyMap<string, string>; readonly longest: number } {
  const map = new Map(Object.entries(JSON.parse(CONFUSABLES_JSON) as Record<string, string>));
  let longest = 1;
  for (const key of map.keys()) longest = Math.max(longest, [...key].length);
  return { map, longest };
}

let confusables: ReturnType<typeof table> | null = null;

/** The UTS #39 skeleton of `text`. */
export function skeleton(text: string): string {
  confusables ??= table();
  const { map, longest } = confusables;
  const chars = [...text.normalize("NFD").replace(INVISIBLE, "")];
  let out = "";
  for (let i = 0; i < chars.length;) {
    // The longest source sequence that matches here (nearly all are one character).
    let step = Math.min(longest, chars.length - i);
    for (; step > 1; step--) {
      const prototype = map.get(chars.slice(i, i + step).join(""));
      if (prototype !== undefined) {
        out += prototype;
        break;
      }
    }
    if (step === 1) out += map.get(chars[i]) ?? chars[i];
    i += step;
  }
  return out.normalize("NFD");
}

/** Full case folding, with Turkish İ (i and a dot above, once folded) taken as i. */
function fold(text: string): string {
  return text.toUpperCase().toLowerCase().normalize("NFD").replace(/([ij])\u0307/g, "$1");
}

/** The keys of a (NFKC-normalised) username. */
export function lookalikeKeys(username: string): LookalikeKeys {
  return {
    skeleton: skeleton(fold(skeleton(username))),
    folded: skeleton(fold(username)),
  };
}
