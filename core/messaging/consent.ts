/**
 * Consent rules for outreach (templates), from the opt-in ledger:
 * - MARKETING templates need an explicit opt-in for marketing (scope `marketing` or `all`) that
 *   is newer than any opt-out, and no standing opt-out (contacts.opted_out_at).
 * - Other templates (UTILITY, AUTHENTICATION) need a contact who wrote to us or opted in, and no
 *   opt-out: no outreach to people who never wrote or opted in.
 * Free-form replies inside the customer-service window need no opt-in: the customer's own
 * message allows conversational replies, even after an opt-out.
 */

export type ConsentScope = 'marketing' | 'utility' | 'all';
export type ConsentAction = 'opt_in' | 'opt_out';
export type LedgerEntry = { scope: string; action: ConsentAction; recordedAt: Date };

export type ConsentFacts = {
  optedOutAt: Date | null;
  /** The customer sent us at least one message (on any conversation of this contact). */
  hasWritten: boolean;
  ledger: LedgerEntry[];
};

/** The most recent action among entries of the given scopes, or null when there is none. */
export function latestAction(
  ledger: LedgerEntry[],
  scopes: readonly string[],
): ConsentAction | null {
  let latest: LedgerEntry | undefined;
  for (const entry of ledger) {
    if (!scopes.includes(entry.scope)) continue;
    if (!latest || entry.recordedAt >= latest.recordedAt) latest = entry;
  }
  return latest?.action ?? null;
}

export type ConsentDecision =
  | { allowed: true }
  | { allowed: false; code: 'opted_out' | 'no_opt_in' | 'never_wrote'; reason: string };

export function templateConsent(category: string, facts: ConsentFacts): ConsentDecision {
  if (facts.optedOutAt) {
    return {
      allowed: false,
      code: 'opted_out',
      reason: `The customer opted out of messages on ${facts.optedOutAt.toISOString()}; templates are not sent to them until they opt in again.`,
    };
  }
  if (category.toUpperCase() === 'MARKETING') {
    const marketing = latestAction(facts.ledger, ['marketing', 'all']);
    if (marketing === 'opt_out') {
      return {
        allowed: false,
        code: 'opted_out',
        reason: 'The customer opted out of marketing messages.',
      };
    }
    if (marketing !== 'opt_in') {
      return {
        allowed: false,
        code: 'no_opt_in',
        reason:
          'Marketing templates need the customer’s explicit opt-in to marketing, and none is recorded. Record it first (with its source).',
      };
    }
    return { allowed: true };
  }
  if (latestAction(facts.ledger, ['utility', 'all']) === 'opt_out') {
    return {
      allowed: false,
      code: 'opted_out',
      reason: 'The customer opted out of these messages.',
    };
  }
  const optedIn = facts.ledger.some((e) => e.action === 'opt_in');
  if (!facts.hasWritten && !optedIn) {
    return {
      allowed: false,
      code: 'never_wrote',
      reason:
        'This customer never wrote to us and never opted in, so no template may be sent to them.',
    };
  }
  return { allowed: true };
}

/** Per-scope state for the operator API. */
export function consentSummary(facts: ConsentFacts) {
  const state = (scopes: readonly string[]) => {
    if (facts.optedOutAt) return 'opted_out' as const;
    const action = latestAction(facts.ledger, scopes);
    return action === 'opt_in'
      ? ('opted_in' as const)
      : action === 'opt_out'
        ? ('opted_out' as const)
        : ('none' as const);
  };
  return {
    opted_out_at: facts.optedOutAt?.toISOString() ?? null,
    has_written: facts.hasWritten,
    marketing: state(['marketing', 'all']),
    utility: state(['utility', 'all']),
  };
}
