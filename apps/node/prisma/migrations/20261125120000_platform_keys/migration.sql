-- Platform signing keys the node accepts, with validity (key rotation with an overlap window).
-- Written in the form `prisma migrate diff` emits.

-- CreateTable
CREATE TABLE "PlatformKey" (
    "publicKey" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "validFrom" TIMESTAMP(3) NOT NULL,
    "validUntil" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PlatformKey_pkey" PRIMARY KEY ("publicKey")
);
