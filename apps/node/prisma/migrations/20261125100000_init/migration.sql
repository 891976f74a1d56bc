-- Reference trusted node schema, first version. Written in the form `prisma migrate diff` emits.

CREATE TYPE "PayoutStatus" AS ENUM ('confirmed', 'failed');

CREATE TABLE "PendingTx" (
    "seq" BIGSERIAL NOT NULL,
    "txId" TEXT NOT NULL,
    "scheme" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "valid" BOOLEAN NOT NULL,
    "verdict" BOOLEAN,
    "unitId" TEXT,
    "verdictAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "PendingTx_pkey" PRIMARY KEY ("seq")
);

CREATE TABLE "LogEntry" (
    "seq" BIGINT NOT NULL,
    "unitId" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LogEntry_pkey" PRIMARY KEY ("seq")
);

CREATE TABLE "Balance" (
    "address" TEXT NOT NULL,
    "amount" DECIMAL(38,0) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Balance_pkey" PRIMARY KEY ("address")
);

CREATE TABLE "Payout" (
    "idempotencyKey" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "amount" DECIMAL(38,0) NOT NULL,
    "status" "PayoutStatus" NOT NULL,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Payout_pkey" PRIMARY KEY ("idempotencyKey")
);

CREATE UNIQUE INDEX "PendingTx_txId_key" ON "PendingTx"("txId");
CREATE INDEX "PendingTx_verdict_seq_idx" ON "PendingTx"("verdict", "seq");
CREATE UNIQUE INDEX "LogEntry_unitId_key" ON "LogEntry"("unitId");
CREATE UNIQUE INDEX "LogEntry_hash_key" ON "LogEntry"("hash");
CREATE INDEX "Payout_status_idx" ON "Payout"("status");

-- Invariants the database itself enforces (Prisma cannot express them).

-- The log is append-only.
CREATE FUNCTION node_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'NODE.LOG_APPEND_ONLY: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "LogEntry_append_only" BEFORE UPDATE OR DELETE ON "LogEntry"
    FOR EACH ROW EXECUTE FUNCTION node_log_append_only();

-- No balance goes below zero.
ALTER TABLE "Balance" ADD CONSTRAINT "Balance_amount_nonnegative" CHECK ("amount" >= 0);
