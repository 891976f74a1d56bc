import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { ApiErrors, ZodBody } from '@idlemint/core';
import { PayoutErrors, PayoutResolutionService } from '@idlemint/payouts';
import { resolvePayoutSchema, type ResolvePayout } from '@idlemint/protocol';
import { OperatorAuthGuard } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import { payoutResolvedSchema } from './operator.responses.js';

/** Operator API: resolving payouts halted as unclear (docs/operator-api.md). */
@Controller('operator/v1')
@UseGuards(OperatorAuthGuard)
export class OperatorPayoutsController {
  constructor(private readonly resolution: PayoutResolutionService) {}

  @Post('payouts/:id/resolve')
  @ApiOkResponse({ standardSchema: payoutResolvedSchema })
  @HttpCode(200)
  @ApiErrors(
    PayoutErrors.notFound(),
    PayoutErrors.notUnclear('pending'),
    PayoutErrors.alreadyResolved('confirmed'),
    PayoutErrors.nodeDisagrees('failed', 'paid'),
  )
  resolve(@Param('id', new IdPipe('payout')) id: string, @ZodBody(resolvePayoutSchema) body: ResolvePayout) {
    return this.resolution.resolve(id, body.outcome);
  }
}
