import { Body, Controller, Get, Headers, HttpCode, Post, Put } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import { OwnersService } from '@idlemint/fleet';
import { Accounts, LedgerService } from '@idlemint/ledger';
import { claimDeviceSchema, payoutAddressSchema } from '@idlemint/protocol';
import type { z } from 'zod';
import { EarningsService } from '../gateway/earnings.service.js';

const bearer = (h: string | undefined) => (h?.startsWith('Bearer ') ? h.slice(7) : undefined);

/** Owner endpoints: claim an appliance with its code, set a payout address, read earnings. */
@Controller('owner/v1')
export class OwnerController {
  constructor(
    private readonly owners: OwnersService,
    private readonly ledger: LedgerService,
    private readonly earningsOf: EarningsService,
  ) {}

  /** Without a token a new owner is created and its token returned once. */
  @Post('claim')
  @HttpCode(201)
  claim(@Headers('authorization') auth: string | undefined, @Body(new ZodPipe(claimDeviceSchema)) body: z.infer<typeof claimDeviceSchema>) {
    return this.owners.claim(body.claimCode, auth === undefined ? undefined : (bearer(auth) ?? ''));
  }

  @Put('payout-address')
  async setAddress(
    @Headers('authorization') auth: string | undefined,
    @Body(new ZodPipe(payoutAddressSchema)) body: z.infer<typeof payoutAddressSchema>,
  ) {
    const owner = await this.owners.authenticate(bearer(auth));
    const o = await this.owners.setPayoutAddress(owner.id, body.address);
    return { ownerId: o.id, payoutAddress: o.payoutAddress };
  }

  /**
   * Balance per device (pending, credited, paid, in minor units of `currency`) with their totals,
   * and the latest ledger lines, each with the reason it is what it is.
   */
  @Get('earnings')
  async earnings(@Headers('authorization') auth: string | undefined) {
    const owner = await this.owners.authenticate(bearer(auth));
    const devices = await this.owners.devicesOf(owner.id);
    const lines = await this.ledger.lines(
      devices.map((d) => Accounts.device(d.id)),
      100,
    );
    const perDevice = await Promise.all(devices.map(async (d) => ({ ...d, earnings: await this.earningsOf.forDevice(d.id) })));
    const total = (k: 'pending' | 'credited' | 'paid') => perDevice.reduce((s, d) => s + BigInt(d.earnings[k]), 0n).toString();
    return {
      ownerId: owner.id,
      payoutsHalted: owner.payoutsHaltedAt !== null,
      payoutAddress: owner.payoutAddress,
      currency: perDevice[0]?.earnings.currency ?? null,
      totals: { pending: total('pending'), credited: total('credited'), paid: total('paid') },
      devices: perDevice,
      lines: lines.map((l) => ({ account: l.code, amount: l.amount, kind: l.kind, why: `${l.entryMemo}: ${l.memo}`, at: l.createdAt })),
    };
  }
}
