-- The reference node's proof-of-work chain (hash-share work, issue 12).
-- Written in the form `prisma migrate diff` emits.

-- CreateTable
CREATE TABLE "PowBlock" (
    "height" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "header" TEXT NOT NULL,
    "coinbase" TEXT NOT NULL,
    "txids" JSONB NOT NULL,
    "time" INTEGER NOT NULL,
    "candidateId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PowBlock_pkey" PRIMARY KEY ("height")
);

-- CreateIndex
CREATE UNIQUE INDEX "PowBlock_hash_key" ON "PowBlock"("hash");

-- CreateIndex
CREATE UNIQUE INDEX "PowBlock_candidateId_key" ON "PowBlock"("candidateId");
