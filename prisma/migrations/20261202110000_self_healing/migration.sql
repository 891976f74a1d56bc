-- Self-healing payouts: whether a payout request may have reached the node (then a node that later
-- denies knowing the key leaves it halted for the operator), and how many times an unclear payout
-- was asked about again (the recheck backs off on it).

-- AlterTable
ALTER TABLE "Payout" ADD COLUMN     "sentAt" TIMESTAMP(3),
ADD COLUMN     "checks" INTEGER NOT NULL DEFAULT 0;
