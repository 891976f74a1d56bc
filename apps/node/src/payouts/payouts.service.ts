import { Injectable } from '@nestjs/common';
import { DomainError } from '@idlemint/core';
import { NODE_ERRORS, type NodePayoutAnswer, type NodePayoutRequest } from '@idlemint/protocol';
import { PayoutsRepository } from './payouts.repository.js';

/**
 * Payouts from the node's treasury, exactly once per idempotency key: the first request decides
 * the key's answer (confirmed, or failed when the treasury was short) and every repeat gets it.
 */
@Injectable()
export class PayoutsService {
  constructor(private readonly payouts: PayoutsRepository) {}

  async pay(req: NodePayoutRequest): Promise<NodePayoutAnswer> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const known = await this.payouts.find(req.idempotencyKey);
      if (known) return settled(known, req);
      const outcome = await this.payouts.execute(req);
      if (outcome.kind === 'done') return settled(outcome.payout, req);
      // Another request recorded this key between our look-up and our insert: answer with its row.
    }
    throw new DomainError('NODE.PAYOUT_BUSY', 'unavailable', 'payout key is being recorded, retry');
  }

  async get(idempotencyKey: string): Promise<NodePayoutAnswer> {
    const payout = await this.payouts.find(idempotencyKey);
    if (!payout) {
      throw new DomainError(NODE_ERRORS.payoutNotFound, 'not_found', 'no payout with this key', { idempotencyKey });
    }
    return payout;
  }
}

/** The key's stored answer as this request gets it. */
function settled(payout: NodePayoutAnswer, req: NodePayoutRequest): NodePayoutAnswer {
  if (payout.address !== req.address || payout.amount !== req.amount) {
    throw new DomainError(NODE_ERRORS.payoutConflict, 'conflict', 'this key was used for another payout', {
      idempotencyKey: req.idempotencyKey,
    });
  }
  if (payout.status === 'failed') {
    throw new DomainError(NODE_ERRORS.insufficientFunds, 'unprocessable', payout.error ?? 'treasury is short', {
      idempotencyKey: req.idempotencyKey,
    });
  }
  return payout;
}
