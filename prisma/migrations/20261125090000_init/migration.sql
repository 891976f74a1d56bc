-- IdleMint platform schema, first version. Written in the form `prisma migrate diff` emits.

CREATE TYPE "ManufacturerStatus" AS ENUM ('active', 'suspended');
CREATE TYPE "DeviceStatus" AS ENUM ('active', 'suspended', 'quarantined', 'revoked');
CREATE TYPE "UnitStatus" AS ENUM ('open', 'verified', 'disputed');
CREATE TYPE "AssignmentStatus" AS ENUM ('leased', 'submitted', 'expired');
CREATE TYPE "AssignmentOutcome" AS ENUM ('agreed', 'disagreed', 'canary_failed');
CREATE TYPE "NodeStatus" AS ENUM ('active', 'disabled');
CREATE TYPE "DeliveryStatus" AS ENUM ('pending', 'delivered', 'dead');
CREATE TYPE "PayoutStatus" AS ENUM ('pending', 'confirmed', 'unclear', 'failed');

CREATE TABLE "Manufacturer" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "ManufacturerStatus" NOT NULL DEFAULT 'active',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Manufacturer_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "AttestationKey" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    CONSTRAINT "AttestationKey_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "DeviceModel" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "deviceClass" TEXT NOT NULL,
    "batchSize" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "DeviceModel_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "Device" (
    "id" TEXT NOT NULL,
    "manufacturerId" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "attestationKeyId" TEXT NOT NULL,
    "serial" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "status" "DeviceStatus" NOT NULL DEFAULT 'active',
    "claimCode" TEXT NOT NULL,
    "ownerId" TEXT,
    "firmware" TEXT,
    "telemetry" JSONB,
    "lastSeenAt" TIMESTAMP(3),
    "strikes" INTEGER NOT NULL DEFAULT 0,
    "validResults" INTEGER NOT NULL DEFAULT 0,
    "certIssuedAt" TIMESTAMP(3) NOT NULL,
    "enrolledAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Device_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "Owner" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "payoutAddress" TEXT,
    "payoutsHaltedAt" TIMESTAMP(3),
    "haltReason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Owner_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "TrustedNode" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" "NodeStatus" NOT NULL DEFAULT 'active',
    "ingestCursor" BIGINT NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "TrustedNode_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "SourceTx" (
    "id" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "scheme" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "unitId" TEXT,
    "itemIndex" INTEGER,
    "verdict" BOOLEAN,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SourceTx_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "WorkUnit" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "deviceClass" TEXT NOT NULL,
    "status" "UnitStatus" NOT NULL DEFAULT 'open',
    "quorum" INTEGER NOT NULL,
    "maxReplicas" INTEGER NOT NULL,
    "replicasIssued" INTEGER NOT NULL,
    "items" JSONB NOT NULL,
    "canaries" JSONB NOT NULL,
    "reward" DECIMAL(38,0) NOT NULL,
    "verdicts" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decidedAt" TIMESTAMP(3),
    CONSTRAINT "WorkUnit_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "Assignment" (
    "id" TEXT NOT NULL,
    "unitId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "ownerId" TEXT,
    "replica" INTEGER NOT NULL,
    "jobId" TEXT NOT NULL,
    "lockToken" TEXT NOT NULL,
    "deadline" TIMESTAMP(3) NOT NULL,
    "status" "AssignmentStatus" NOT NULL DEFAULT 'leased',
    "outcome" "AssignmentOutcome",
    "verdicts" TEXT,
    "resultSignature" TEXT,
    "reason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submittedAt" TIMESTAMP(3),
    CONSTRAINT "Assignment_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "LedgerAccount" (
    "id" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LedgerAccount_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "JournalEntry" (
    "id" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "memo" TEXT NOT NULL,
    "unitId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "JournalEntry_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "Posting" (
    "id" TEXT NOT NULL,
    "entryId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "amount" DECIMAL(38,0) NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "memo" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Posting_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "OutboxMessage" (
    "id" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dispatchedAt" TIMESTAMP(3),
    CONSTRAINT "OutboxMessage_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "RelayDelivery" (
    "id" TEXT NOT NULL,
    "unitId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "nodeSeq" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),
    CONSTRAINT "RelayDelivery_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "Payout" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "amount" DECIMAL(38,0) NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "status" "PayoutStatus" NOT NULL DEFAULT 'pending',
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Payout_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "Manufacturer_name_key" ON "Manufacturer"("name");
CREATE UNIQUE INDEX "ApiKey_secretHash_key" ON "ApiKey"("secretHash");
CREATE INDEX "ApiKey_manufacturerId_idx" ON "ApiKey"("manufacturerId");
CREATE UNIQUE INDEX "AttestationKey_publicKey_key" ON "AttestationKey"("publicKey");
CREATE INDEX "AttestationKey_manufacturerId_idx" ON "AttestationKey"("manufacturerId");
CREATE UNIQUE INDEX "DeviceModel_name_key" ON "DeviceModel"("name");
CREATE INDEX "DeviceModel_manufacturerId_idx" ON "DeviceModel"("manufacturerId");
CREATE UNIQUE INDEX "Device_serial_key" ON "Device"("serial");
CREATE UNIQUE INDEX "Device_publicKey_key" ON "Device"("publicKey");
CREATE UNIQUE INDEX "Device_claimCode_key" ON "Device"("claimCode");
CREATE INDEX "Device_manufacturerId_status_idx" ON "Device"("manufacturerId", "status");
CREATE INDEX "Device_ownerId_idx" ON "Device"("ownerId");
CREATE INDEX "Device_attestationKeyId_idx" ON "Device"("attestationKeyId");
CREATE UNIQUE INDEX "Owner_tokenHash_key" ON "Owner"("tokenHash");
CREATE UNIQUE INDEX "TrustedNode_name_key" ON "TrustedNode"("name");
CREATE UNIQUE INDEX "SourceTx_nodeId_externalId_key" ON "SourceTx"("nodeId", "externalId");
CREATE INDEX "SourceTx_unitId_idx" ON "SourceTx"("unitId");
CREATE INDEX "SourceTx_nodeId_unitId_idx" ON "SourceTx"("nodeId", "unitId");
CREATE INDEX "WorkUnit_status_createdAt_idx" ON "WorkUnit"("status", "createdAt");
CREATE UNIQUE INDEX "Assignment_unitId_deviceId_key" ON "Assignment"("unitId", "deviceId");
CREATE UNIQUE INDEX "Assignment_unitId_ownerId_key" ON "Assignment"("unitId", "ownerId");
CREATE INDEX "Assignment_deviceId_createdAt_idx" ON "Assignment"("deviceId", "createdAt");
CREATE UNIQUE INDEX "LedgerAccount_code_key" ON "LedgerAccount"("code");
CREATE UNIQUE INDEX "JournalEntry_idempotencyKey_key" ON "JournalEntry"("idempotencyKey");
CREATE INDEX "JournalEntry_unitId_idx" ON "JournalEntry"("unitId");
CREATE UNIQUE INDEX "Posting_idempotencyKey_key" ON "Posting"("idempotencyKey");
CREATE INDEX "Posting_entryId_idx" ON "Posting"("entryId");
CREATE INDEX "Posting_accountId_createdAt_idx" ON "Posting"("accountId", "createdAt");
CREATE UNIQUE INDEX "OutboxMessage_key_key" ON "OutboxMessage"("key");
CREATE INDEX "OutboxMessage_dispatchedAt_id_idx" ON "OutboxMessage"("dispatchedAt", "id");
CREATE UNIQUE INDEX "RelayDelivery_unitId_nodeId_key" ON "RelayDelivery"("unitId", "nodeId");
CREATE INDEX "RelayDelivery_status_idx" ON "RelayDelivery"("status");
CREATE UNIQUE INDEX "Payout_idempotencyKey_key" ON "Payout"("idempotencyKey");
CREATE INDEX "Payout_ownerId_status_idx" ON "Payout"("ownerId", "status");
CREATE INDEX "Payout_status_idx" ON "Payout"("status");

-- Ledger invariants the database itself enforces (Prisma cannot express them).

-- Every journal entry balances: checked at commit, once all of its postings are in.
CREATE FUNCTION ledger_entry_balances() RETURNS trigger AS $$
DECLARE
    total NUMERIC;
    n INTEGER;
BEGIN
    SELECT COALESCE(SUM("amount"), 0), COUNT(*) INTO total, n FROM "Posting" WHERE "entryId" = NEW."entryId";
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'LEDGER.UNBALANCED: entry % has % postings summing to %', NEW."entryId", n, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER "Posting_balanced"
    AFTER INSERT ON "Posting"
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();

-- Postings and journal entries are append-only.
CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'LEDGER.APPEND_ONLY: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "Posting_append_only" BEFORE UPDATE OR DELETE ON "Posting"
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER "JournalEntry_append_only" BEFORE UPDATE OR DELETE ON "JournalEntry"
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- A posting belongs to an entry and an account that exist.
ALTER TABLE "Posting" ADD CONSTRAINT "Posting_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "JournalEntry"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE "Posting" ADD CONSTRAINT "Posting_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "LedgerAccount"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;
