-- Model names and device serials are unique per manufacturer, not across tenants: a tenant can no
-- longer squat another maker's model names or serials, nor learn from a 409 that they exist.
DROP INDEX "DeviceModel_name_key";
CREATE UNIQUE INDEX "DeviceModel_manufacturerId_name_key" ON "DeviceModel"("manufacturerId", "name");

DROP INDEX "Device_serial_key";
DROP INDEX "Device_manufacturerId_serial_idx";
CREATE UNIQUE INDEX "Device_manufacturerId_serial_key" ON "Device"("manufacturerId", "serial");
