import { Body, Controller, Get, Headers, HttpCode, Post, Put } from '@nestjs/common';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { FleetErrors, OwnersService } from '@idlemint/fleet';
import { Accounts, LedgerService } from '@idlemint/ledger';
import { claimDeviceSchema, payoutAddressSchema } from '@idlemint/protocol';
import type { z } from 'zod';

const bearer = (h: string | undefined) => (h?.startsWith('Bearer ') ? h.slice(7) : undefined);

/** Owner endpoints: claim an appliance with its code, set a payout address, read earnings. */
@Controller('owner/v1')
export class OwnerController {
  constructor(
    private readonly owners: OwnersService,
    private readonly ledger: LedgerService,
  ) {}

  /** Without a token a new owner is created and its token returned once. */
  @Post('claim')
  @HttpCode(201)
  @ApiErrors(FleetErrors.claimCodeUnknown(), FleetErrors.alreadyClaimed())
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

  /** Balance per device and the latest ledger lines, each with the reason it is what it is. */
  @Get('earnings')
  async earnings(@Headers('authorization') auth: string | undefined) {
    const owner = await this.owners.authenticate(bearer(auth));
    const devices = await this.owners.devicesOf(owner.id);
    const lines = await this.ledger.lines(
      devices.map((d) => Accounts.device(d.id)),
      100,
    );
    return {
      ownerId: owner.id,
      payoutsHalted: owner.payoutsHaltedAt !== null,
      devices,
      lines: lines.map((l) => ({ account: l.code, amount: l.amount, kind: l.kind, why: `${l.entryMemo}: ${l.memo}`, at: l.createdAt })),
    };
  }
}
