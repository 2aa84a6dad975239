/**
 * Questions about prices, in Spanish, English and Arabic: the "asked about a price and did not
 * book" follow-up (db/opportunities.ts) looks for them in customers' messages. The daily scan
 * matches in SQL over many messages at once, so the rule is one regular expression that means the
 * same to Postgres (`~`, over `app.search_normalize(text)`) and to JavaScript (over `foldText`,
 * its twin): only `(`, `|`, `^`, `$` and one bracket class, nothing either dialect reads its own way.
 *
 * Latin words and phrases must stand alone ("cost" but not "costa", "fee" but not "feel"); the
 * Arabic ones are stems matched anywhere, because Arabic attaches prefixes ("بسعر", "والسعر").
 * Words are written folded: lowercase, no accents, one alef, ة as ه.
 */
import { foldText } from '../text';

const WORDS = [
  // Spanish
  'precio',
  'precios',
  'cuanto cuesta',
  'cuanto cuestan',
  'cuanto vale',
  'cuanto valen',
  'cuanto sale',
  'cuanto cobran',
  'cuanto cobras',
  'cuanto es',
  'costo',
  'costos',
  'coste',
  'tarifa',
  'tarifas',
  'presupuesto',
  'cotizacion',
  // English
  'price',
  'prices',
  'pricing',
  'cost',
  'costs',
  'how much',
  'quote',
  'rates',
  'fee',
  'fees',
];

/** Price, prices, for how much, costs (verb), cost (noun, both spellings), price (thaman). */
const ARABIC_STEMS = ['سعر', 'اسعار', 'بكم', 'يكلف', 'تكلفه', 'كلفه', 'ثمن'];

/** The pattern, for folded text: a Latin word between non-letters, or an Arabic stem anywhere. */
export const PRICE_QUESTION_PATTERN = `(^|[^a-z0-9])(${WORDS.join('|')})([^a-z0-9]|$)|${ARABIC_STEMS.join('|')}`;

const priceQuestion = new RegExp(PRICE_QUESTION_PATTERN);

/** Whether a customer's message asks about a price (what the SQL rule finds, for tests and callers). */
export function asksAboutPrice(text: string | null | undefined): boolean {
  return !!text && priceQuestion.test(foldText(text));
}
