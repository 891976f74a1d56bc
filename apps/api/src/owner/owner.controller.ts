import { Body, Controller, Get, HttpCode, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { FleetErrors, OwnersService } from '@idlemint/fleet';
import { Accounts, LedgerService } from '@idlemint/ledger';
import { claimDeviceSchema, payoutAddressSchema } from '@idlemint/protocol';
import type { z } from 'zod';
import { Owner, OwnerAuthGuard, OwnerOptional, type OwnerPrincipal } from '../common/auth.js';
import { AuthFailures } from '../http/auth-failures.js';
import { EarningsService } from '../gateway/earnings.service.js';
import { claimedSchema, ownerEarningsSchema, payoutAddressSetSchema } from './owner.responses.js';

/**
 * Owner endpoints: claim an appliance with its code, set a payout address, read earnings. The
 * token is checked (OwnerAuthGuard) before the body is looked at.
 */
@Controller('owner/v1')
@UseGuards(OwnerAuthGuard)
export class OwnerController {
  constructor(
    private readonly owners: OwnersService,
    private readonly ledger: LedgerService,
    private readonly failures: AuthFailures,
    private readonly earningsOf: EarningsService,
  ) {}

  /** Without a token a new owner is created and its token returned once. An unknown code counts as a failed authentication. */
  @Post('claim')
  @ApiCreatedResponse({ description: 'claimed; the owner token only when a new owner was created', standardSchema: claimedSchema })
  @HttpCode(201)
  @OwnerOptional()
  @ApiErrors(FleetErrors.claimCodeUnknown(), FleetErrors.alreadyClaimed())
  claim(
    @Req() req: FastifyRequest,
    @Owner() owner: OwnerPrincipal | null,
    @Body(new ZodPipe(claimDeviceSchema)) body: z.infer<typeof claimDeviceSchema>,
  ) {
    return this.failures.guard(req.ip, () => this.owners.claim(body.claimCode, owner), ['OWNER.CLAIM_CODE_UNKNOWN']);
  }

  @Put('payout-address')
  @ApiOkResponse({ standardSchema: payoutAddressSetSchema })
  async setAddress(
    @Owner() owner: OwnerPrincipal | null,
    @Body(new ZodPipe(payoutAddressSchema)) body: z.infer<typeof payoutAddressSchema>,
  ) {
    const o = await this.owners.setPayoutAddress(owner!.id, body.address);
    return { ownerId: o.id, payoutAddress: o.payoutAddress };
  }

  /**
   * Balance per device (pending, credited, paid, in minor units of `currency`) with their totals,
   * and the latest ledger lines, each with the reason it is what it is.
   */
  @Get('earnings')
  @ApiOkResponse({ description: 'amounts in minor units of `currency`', standardSchema: ownerEarningsSchema })
  async earnings(@Owner() owner: OwnerPrincipal | null) {
    const { id, payoutsHaltedAt, payoutAddress } = owner!;
    const devices = await this.owners.devicesOf(id);
    const lines = await this.ledger.lines(
      devices.map((d) => Accounts.device(d.id)),
      100,
    );
    const perDevice = await Promise.all(devices.map(async (d) => ({ ...d, earnings: await this.earningsOf.forDevice(d.id) })));
    const total = (k: 'pending' | 'credited' | 'paid') => perDevice.reduce((s, d) => s + BigInt(d.earnings[k]), 0n).toString();
    return {
      ownerId: id,
      payoutsHalted: payoutsHaltedAt !== null,
      payoutAddress,
      currency: perDevice[0]?.earnings.currency ?? null,
      totals: { pending: total('pending'), credited: total('credited'), paid: total('paid') },
      devices: perDevice,
      lines: lines.map((l) => ({ account: l.code, amount: l.amount, kind: l.kind, why: `${l.entryMemo}: ${l.memo}`, at: l.createdAt })),
    };
  }
}
