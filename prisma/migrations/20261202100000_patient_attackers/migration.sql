-- Integrity against patient attackers: every unit needs independent agreement (distinct owners,
-- manufacturers where the class has several, network origins), verified units are sampled for
-- audit by a third device, and an overturned verdict is retracted to the nodes.

-- CreateEnum
CREATE TYPE "AuditStatus" AS ENUM ('pending', 'passed', 'contested', 'upheld', 'overturned');

-- AlterEnum
ALTER TYPE "RewardStatus" ADD VALUE 'frozen';

-- AlterTable
ALTER TABLE "WorkUnit" ADD COLUMN     "assurance" JSONB,
ADD COLUMN     "auditReplicas" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "auditStatus" "AuditStatus",
ADD COLUMN     "minManufacturers" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "retractedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Assignment" ADD COLUMN     "audit" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "manufacturerId" TEXT,
ADD COLUMN     "origin" TEXT;

-- CreateTable
CREATE TABLE "RetractionDelivery" (
    "id" TEXT NOT NULL,
    "unitId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "RetractionDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Assignment_unitId_origin_key" ON "Assignment"("unitId", "origin");

-- CreateIndex
CREATE INDEX "RetractionDelivery_status_idx" ON "RetractionDelivery"("status");

-- CreateIndex
CREATE UNIQUE INDEX "RetractionDelivery_unitId_nodeId_key" ON "RetractionDelivery"("unitId", "nodeId");
