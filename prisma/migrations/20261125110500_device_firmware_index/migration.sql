-- Firmware filters of the manufacturer device list (a rollout, a recall) are selective where the
-- fleet's other filters are not: without this index a rare firmware meant a scan of the fleet.

-- CreateIndex
CREATE INDEX "Device_manufacturerId_firmware_idx" ON "Device"("manufacturerId", "firmware");
