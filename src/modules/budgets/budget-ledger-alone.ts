import type { LedgerAccount, LedgerFigures, ReserveOutcome } from './budget-ledger.ts';

// The budget ledger's decisions made in this process alone: without Redis (on the accounts
// themselves), and while Redis is unavailable (on this replica's share of each account).

/**
 * While Redis is unavailable, what this replica may still spend of one account: its share of
 * the room it last saw (`base`, Redis's figures), and what it held and spent alone since.
 */
export interface OutageAccount {
  base: LedgerFigures;
  allowance: number;
  held: number;
  spent: number;
}

/**
 * Micro-units as the scripts take them: a non-negative integer, written in full (never "1e+21").
 * Beyond 2^53-1 a JavaScript number is no longer exact: such an amount (an estimate for an absurd
 * `max_tokens`) is held as 2^53-1, more than any budget, which refuses it.
 */
export function micros(value: number, what: string): string {
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(`budget ledger: ${what} must be a number of micro-units from 0, got ${value}`);
  }
  return String(Math.min(Math.ceil(value), Number.MAX_SAFE_INTEGER));
}

/**
 * This replica's share of an account while Redis is unavailable: (limit − spent − reserved) ÷
 * replicas of the figures it last had (`view`). Every replica taking only its share, together
 * they stay within the limit.
 */
export function shareOf(account: LedgerAccount, view: LedgerFigures, replicas: number): OutageAccount {
  const left = Math.max(0, account.limitMicros - view.spentMicros - view.reservedMicros);
  return { base: { ...view }, allowance: Math.floor(left / replicas), held: 0, spent: 0 };
}

/**
 * Decides alone on `entries` (the accounts themselves without Redis, this replica's share of
 * them while Redis is unavailable). Atomic: nothing here yields.
 */
export function decideAlone(
  entries: (OutageAccount | LedgerFigures)[],
  accounts: LedgerAccount[],
  amountMicros: number,
  id: string,
): ReserveOutcome {
  const room = entries.map((e, i) =>
    'allowance' in e
      ? { limit: e.allowance, spent: e.spent, held: e.held }
      : { limit: accounts[i]!.limitMicros, spent: e.spentMicros, held: e.reservedMicros },
  );
  const figures = () => entries.map((e) => ('allowance' in e ? outageFigures(e) : { ...e }));
  const blockedAt = accounts.findIndex((account, i) => {
    const { limit, spent, held } = room[i]!;
    return account.blocks && (spent >= limit || (amountMicros > 0 && spent + held + amountMicros > limit));
  });
  if (blockedAt >= 0) return { ok: false, blockedAt, figures: figures() };
  for (const e of entries) {
    if ('allowance' in e) e.held += amountMicros;
    else e.reservedMicros += amountMicros;
  }
  return { ok: true, figures: figures(), hold: { accounts, amountMicros, id, local: true } };
}

/** A hold made alone is over (settled, or released for a failed call). */
export function release(entry: OutageAccount | undefined, amountMicros: number): void {
  if (entry) entry.held = Math.max(0, entry.held - amountMicros);
}

export function outageFigures(entry: OutageAccount): LedgerFigures {
  return {
    spentMicros: entry.base.spentMicros + entry.spent,
    reservedMicros: entry.base.reservedMicros + entry.held,
  };
}
