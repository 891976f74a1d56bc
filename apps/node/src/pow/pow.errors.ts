import { DomainError } from '@idlemint/core';
import { POW_ERRORS } from '@idlemint/protocol';

export const powMalformed = (message: string) => new DomainError(POW_ERRORS.malformed, 'unprocessable', message);
export const powStaleTip = (tip: string) =>
  new DomainError(POW_ERRORS.staleTip, 'conflict', 'the block does not build on this node’s tip', { tip });
export const powBadBits = (expected: string) =>
  new DomainError(POW_ERRORS.badBits, 'unprocessable', 'nBits is not this node’s network target', { expected });
export const powHighHash = (hash: string) =>
  new DomainError(POW_ERRORS.highHash, 'unprocessable', 'the block hash does not meet the network target', { hash });
export const powBadMerkle = () =>
  new DomainError(POW_ERRORS.badMerkle, 'unprocessable', 'the merkle root is not that of the coinbase and txids');
export const powBadCoinbase = (message: string) => new DomainError(POW_ERRORS.badCoinbase, 'unprocessable', message);
export const powBadTime = (message: string) => new DomainError(POW_ERRORS.badTime, 'unprocessable', message);
export const powCandidateConflict = (candidateId: string) =>
  new DomainError(POW_ERRORS.candidateConflict, 'conflict', 'this candidate id was accepted with another block', { candidateId });
