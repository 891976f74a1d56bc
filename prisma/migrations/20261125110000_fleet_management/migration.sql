-- Fleet management (issue 3, part A): API key names, work policy per model, group and device,
-- device time zones, groups and tags, telemetry rollups, the audit log and idempotency records.
-- Written in the form `prisma migrate diff` emits.

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "name" TEXT;

-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "groupId" TEXT,
ADD COLUMN     "policy" JSONB,
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "timezone" TEXT NOT NULL DEFAULT 'UTC';

-- AlterTable
ALTER TABLE "DeviceModel" ADD COLUMN     "policy" JSONB;

-- CreateTable
CREATE TABLE "DeviceGroup" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "policy" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeviceGroup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TelemetryRollup" (
    "deviceId" TEXT NOT NULL,
    "hour" TIMESTAMP(3) NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "heartbeats" INTEGER NOT NULL,
    "idle" INTEGER NOT NULL,
    "tempCount" INTEGER NOT NULL,
    "tempSum" DOUBLE PRECISION NOT NULL,
    "tempMin" DOUBLE PRECISION,
    "tempMax" DOUBLE PRECISION,
    "powerCount" INTEGER NOT NULL,
    "powerSum" DOUBLE PRECISION NOT NULL,
    "powerMin" DOUBLE PRECISION,
    "powerMax" DOUBLE PRECISION,
    "loadCount" INTEGER NOT NULL,
    "loadSum" DOUBLE PRECISION NOT NULL,
    "loadMin" DOUBLE PRECISION,
    "loadMax" DOUBLE PRECISION,

    CONSTRAINT "TelemetryRollup_pkey" PRIMARY KEY ("deviceId","hour")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "targetType" TEXT NOT NULL,
    "targetIds" TEXT[],
    "before" JSONB,
    "after" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IdempotencyRecord" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "response" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotencyRecord_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Device_manufacturerId_enrolledAt_id_idx" ON "Device"("manufacturerId", "enrolledAt", "id");

-- CreateIndex
CREATE INDEX "Device_manufacturerId_lastSeenAt_id_idx" ON "Device"("manufacturerId", "lastSeenAt", "id");

-- CreateIndex
CREATE INDEX "Device_manufacturerId_serial_idx" ON "Device"("manufacturerId", "serial");

-- CreateIndex
CREATE INDEX "Device_groupId_idx" ON "Device"("groupId");

-- CreateIndex
CREATE INDEX "Device_tags_idx" ON "Device" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "DeviceGroup_manufacturerId_name_key" ON "DeviceGroup"("manufacturerId", "name");

-- CreateIndex
CREATE INDEX "TelemetryRollup_manufacturerId_hour_idx" ON "TelemetryRollup"("manufacturerId", "hour");

-- CreateIndex
CREATE INDEX "AuditLog_manufacturerId_id_idx" ON "AuditLog"("manufacturerId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "IdempotencyRecord_manufacturerId_key_key" ON "IdempotencyRecord"("manufacturerId", "key");
