-- Alerts (rules, episodes, webhook deliveries), platform signing key rotation, and the operator's
-- resolution of unclear payouts. Written in the form `prisma migrate diff` emits.

-- CreateEnum
CREATE TYPE "AlertRuleKind" AS ENUM ('device_offline', 'reject_rate', 'canary_strike', 'online_share');

-- CreateEnum
CREATE TYPE "AlertStatus" AS ENUM ('firing', 'resolved');

-- CreateEnum
CREATE TYPE "PlatformKeyStatus" AS ENUM ('pending', 'current', 'retired');

-- AlterTable
ALTER TABLE "Payout" ADD COLUMN     "resolution" TEXT,
ADD COLUMN     "resolvedAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "AlertRule" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "AlertRuleKind" NOT NULL,
    "params" JSONB NOT NULL,
    "webhookUrl" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "cursorAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "evaluatedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AlertRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "ruleId" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "status" "AlertStatus" NOT NULL DEFAULT 'firing',
    "openKey" TEXT,
    "details" JSONB NOT NULL,
    "firedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertDelivery" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "ruleId" TEXT NOT NULL,
    "alertId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastStatusCode" INTEGER,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "AlertDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertDeliveryAttempt" (
    "id" TEXT NOT NULL,
    "deliveryId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "statusCode" INTEGER,
    "error" TEXT,
    "durationMs" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AlertDeliveryAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PlatformKey" (
    "id" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "seed" TEXT,
    "status" "PlatformKeyStatus" NOT NULL,
    "activeFrom" TIMESTAMP(3),
    "retiresAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PlatformKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AlertRule_enabled_idx" ON "AlertRule"("enabled");

-- CreateIndex
CREATE UNIQUE INDEX "AlertRule_manufacturerId_name_key" ON "AlertRule"("manufacturerId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Alert_openKey_key" ON "Alert"("openKey");

-- CreateIndex
CREATE INDEX "Alert_manufacturerId_status_idx" ON "Alert"("manufacturerId", "status");

-- CreateIndex
CREATE INDEX "Alert_ruleId_status_idx" ON "Alert"("ruleId", "status");

-- CreateIndex
CREATE INDEX "AlertDelivery_manufacturerId_createdAt_idx" ON "AlertDelivery"("manufacturerId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "AlertDelivery_alertId_event_key" ON "AlertDelivery"("alertId", "event");

-- CreateIndex
CREATE UNIQUE INDEX "AlertDeliveryAttempt_deliveryId_attempt_key" ON "AlertDeliveryAttempt"("deliveryId", "attempt");

-- CreateIndex
CREATE UNIQUE INDEX "PlatformKey_publicKey_key" ON "PlatformKey"("publicKey");

-- CreateIndex
CREATE INDEX "PlatformKey_status_idx" ON "PlatformKey"("status");
