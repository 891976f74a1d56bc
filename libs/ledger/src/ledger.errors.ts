import { DomainError } from '@idlemint/core';

export const LedgerErrors = {
  unbalanced: (sum: bigint) => new DomainError('LEDGER.UNBALANCED', 'unprocessable', `journal entry does not balance (sum ${sum})`),
  empty: () => new DomainError('LEDGER.EMPTY_ENTRY', 'unprocessable', 'a journal entry needs at least two postings'),
};
