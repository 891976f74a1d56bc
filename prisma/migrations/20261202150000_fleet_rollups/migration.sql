-- Hourly rollups per manufacturer for the console's time-series endpoints, kept incrementally by
-- the worker from a watermark, so a chart never scans raw assignments or postings.

-- CreateTable
CREATE TABLE "FleetHourlyRollup" (
    "manufacturerId" TEXT NOT NULL,
    "hour" TIMESTAMP(3) NOT NULL,
    "heartbeats" INTEGER NOT NULL DEFAULT 0,
    "unitsVerified" INTEGER NOT NULL DEFAULT 0,
    "resultsAgreed" INTEGER NOT NULL DEFAULT 0,
    "rewardsManufacturer" DECIMAL(38,0) NOT NULL DEFAULT 0,
    "rewardsOwners" DECIMAL(38,0) NOT NULL DEFAULT 0,

    CONSTRAINT "FleetHourlyRollup_pkey" PRIMARY KEY ("manufacturerId","hour")
);

-- CreateTable
CREATE TABLE "RollupWatermark" (
    "name" TEXT NOT NULL,
    "through" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RollupWatermark_pkey" PRIMARY KEY ("name")
);

-- CreateIndex: the rollup recomputes the heartbeats of the hours since its watermark.
CREATE INDEX "TelemetryRollup_hour_idx" ON "TelemetryRollup"("hour");

-- CreateIndex: the rollup reads units and postings from its watermark on.
CREATE INDEX "WorkUnit_decidedAt_idx" ON "WorkUnit"("decidedAt");

-- CreateIndex
CREATE INDEX "Posting_createdAt_idx" ON "Posting"("createdAt");
