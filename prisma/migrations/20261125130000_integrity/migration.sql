-- Work integrity: reputation and quotas per device, canaries planted per assignment (not per unit,
-- so their number can follow the device's reputation), rewards that mature before they can be
-- paid, and a stock of canaries made ahead of time.

-- CreateEnum
CREATE TYPE "RewardStatus" AS ENUM ('immature', 'mature', 'forfeited');

-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "consecutiveValid" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "dailyQuota" INTEGER NOT NULL DEFAULT 200,
ADD COLUMN     "quarantineCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "quarantinedAt" TIMESTAMP(3),
ADD COLUMN     "reputation" DOUBLE PRECISION NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "WorkUnit" DROP COLUMN "canaries";

-- AlterTable
ALTER TABLE "Assignment" ADD COLUMN     "canaries" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "realVerdicts" TEXT;

-- CreateTable
CREATE TABLE "Reward" (
    "id" TEXT NOT NULL,
    "unitId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "amount" DECIMAL(38,0) NOT NULL,
    "status" "RewardStatus" NOT NULL DEFAULT 'immature',
    "why" TEXT NOT NULL,
    "maturesAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settledAt" TIMESTAMP(3),

    CONSTRAINT "Reward_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Canary" (
    "id" TEXT NOT NULL,
    "scheme" TEXT NOT NULL,
    "item" JSONB NOT NULL,
    "valid" BOOLEAN NOT NULL,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Canary_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Reward_unitId_deviceId_key" ON "Reward"("unitId", "deviceId");
CREATE INDEX "Reward_status_maturesAt_idx" ON "Reward"("status", "maturesAt");
CREATE INDEX "Reward_deviceId_status_idx" ON "Reward"("deviceId", "status");
CREATE INDEX "Canary_valid_uses_idx" ON "Canary"("valid", "uses");
