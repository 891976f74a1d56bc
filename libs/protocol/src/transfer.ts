import { createHash, randomBytes } from 'node:crypto';

/**
 * The message a reference-node transfer signs: a 32-byte digest, as Bitcoin signs a sighash.
 * Canaries use the same function, so a planted item looks exactly like a real one.
 */
export function makeTransferMessage(
  from = randomBytes(20).toString('hex'),
  to = randomBytes(20).toString('hex'),
  amount = BigInt(1 + Math.floor(Math.random() * 1_000_000)),
  nonce = randomBytes(8).toString('hex'),
): string {
  return createHash('sha256').update(`IDLEMINT-TRANSFER-V1|${from}|${to}|${amount}|${nonce}`).digest('hex');
}
