-- Retractions: IdleMint withdraws a relayed verdict that a later audit overturned.

-- AlterTable
ALTER TABLE "PendingTx" ADD COLUMN     "retractedAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "Retraction" (
    "unitId" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "txCount" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Retraction_pkey" PRIMARY KEY ("unitId")
);
