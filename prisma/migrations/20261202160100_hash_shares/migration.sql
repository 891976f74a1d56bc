-- Hash shares (issue 12): jobs cut from node templates, miners, accepted shares, block candidates
-- and their deliveries. Owned by libs/shares. Written in the form `prisma migrate diff` emits.

-- CreateTable
CREATE TABLE "HashJob" (
    "id" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "height" INTEGER NOT NULL,
    "prevHash" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "bits" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "time" INTEGER NOT NULL,
    "coinb1" TEXT NOT NULL,
    "coinb2" TEXT NOT NULL,
    "merkleBranch" JSONB NOT NULL,
    "txids" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "HashJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HashMiner" (
    "deviceId" TEXT NOT NULL,
    "extranonce1" TEXT NOT NULL,
    "difficulty" DOUBLE PRECISION NOT NULL,
    "creditRemainder" BIGINT NOT NULL DEFAULT 0,
    "credentialHash" TEXT,
    "credentialIssuedAt" TIMESTAMP(3),
    "credentialRevokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "HashMiner_pkey" PRIMARY KEY ("deviceId")
);

-- CreateTable
CREATE TABLE "HashShare" (
    "id" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "difficulty" DOUBLE PRECISION NOT NULL,
    "block" BOOLEAN NOT NULL DEFAULT false,
    "batchId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "HashShare_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BlockCandidate" (
    "id" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "header" TEXT NOT NULL,
    "coinbase" TEXT NOT NULL,
    "txids" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BlockCandidate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BlockDelivery" (
    "candidateId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "height" INTEGER,
    "lastError" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BlockDelivery_pkey" PRIMARY KEY ("candidateId","nodeId")
);

-- CreateIndex
CREATE INDEX "HashJob_createdAt_idx" ON "HashJob"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "HashMiner_extranonce1_key" ON "HashMiner"("extranonce1");

-- CreateIndex
CREATE UNIQUE INDEX "HashShare_hash_key" ON "HashShare"("hash");

-- CreateIndex
CREATE INDEX "HashShare_batchId_createdAt_idx" ON "HashShare"("batchId", "createdAt");

-- CreateIndex
CREATE INDEX "HashShare_deviceId_idx" ON "HashShare"("deviceId");

-- CreateIndex
CREATE UNIQUE INDEX "BlockCandidate_hash_key" ON "BlockCandidate"("hash");
