/**
 * Text folding shared by every rule that matches what customers type (opt-out keywords, escalation
 * requests, language detection, knowledge search): people write with and without accents, and
 * Arabic has several spellings of the same letters.
 */

/** Lowercase with accents and other combining marks removed: "Atención" → "atencion". */
export function stripAccents(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * `stripAccents` plus one spelling for Arabic: no tatweel, one alef (أ إ آ ٱ → ا), ى → ي and
 * ة → ه. The JavaScript twin of the database's `app.search_normalize`.
 */
export function foldText(text: string): string {
  return stripAccents(text)
    .replace(/\u0640/g, '')
    .replace(/[أإآٱ]/g, 'ا')
    .replace(/ى/g, 'ي')
    .replace(/ة/g, 'ه');
}

/** The folded words of a text: runs of letters and digits, split on everything else. */
export function wordsOf(text: string): string[] {
  return foldText(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}
