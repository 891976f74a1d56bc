import { Controller, Delete, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { AlertErrors, AlertRulesService } from '@idlemint/alerts';
import { ApiErrors, ZodBody, ZodQuery } from '@idlemint/core';
import { FleetErrors, type ManufacturerPrincipal } from '@idlemint/fleet';
import {
  alertDeliveryListQuerySchema,
  alertListQuerySchema,
  createAlertRuleSchema,
  updateAlertRuleSchema,
  type AlertDeliveryListQuery,
  type AlertListQuery,
  type CreateAlertRule,
  type UpdateAlertRule,
} from '@idlemint/protocol';
import { ManufacturerAuthGuard, Principal } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import {
  alertDeliveryPageSchema,
  alertDeliverySchema,
  alertPageSchema,
  alertRuleCreatedSchema,
  alertRuleListSchema,
  alertRuleRemovedSchema,
  alertRuleSchema,
  alertRuleUpdatedSchema,
} from './manufacturer.responses.js';

const forbidden = AlertErrors.webhookUrlForbidden('http://127.0.0.1/', 'address 127.0.0.1 is not public');

/**
 * Manufacturer API: alert rules, their alerts and webhook deliveries (docs/alerts.md). Reads for
 * every role, changes for admin keys; only the key's own tenant.
 */
@Controller('manufacturer/v1')
@UseGuards(ManufacturerAuthGuard)
export class AlertsController {
  constructor(private readonly rules: AlertRulesService) {}

  /** The answer carries the webhook secret, once. */
  @Post('alert-rules')
  @ApiCreatedResponse({ description: 'the webhook secret is in this answer only', standardSchema: alertRuleCreatedSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), forbidden, AlertErrors.ruleNameTaken())
  create(@Principal() p: ManufacturerPrincipal, @ZodBody(createAlertRuleSchema) body: CreateAlertRule) {
    return this.rules.create(p, body);
  }

  @Get('alert-rules')
  @ApiOkResponse({ standardSchema: alertRuleListSchema })
  async list(@Principal() p: ManufacturerPrincipal) {
    return { rules: await this.rules.list(p) };
  }

  @Get('alert-rules/:id')
  @ApiOkResponse({ standardSchema: alertRuleSchema })
  @ApiErrors(AlertErrors.ruleNotFound())
  get(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('alert_rule')) id: string) {
    return this.rules.get(p, id);
  }

  /** A new secret (`secret` or `rotateSecret`) is in the answer, once. */
  @Patch('alert-rules/:id')
  @ApiOkResponse({ standardSchema: alertRuleUpdatedSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), AlertErrors.ruleNotFound(), forbidden, AlertErrors.paramsInvalid([]), AlertErrors.ruleNameTaken())
  update(
    @Principal() p: ManufacturerPrincipal,
    @Param('id', new IdPipe('alert_rule')) id: string,
    @ZodBody(updateAlertRuleSchema) body: UpdateAlertRule,
  ) {
    return this.rules.update(p, id, body);
  }

  @Delete('alert-rules/:id')
  @ApiOkResponse({ standardSchema: alertRuleRemovedSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), AlertErrors.ruleNotFound())
  remove(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('alert_rule')) id: string) {
    return this.rules.remove(p, id);
  }

  /** Alert episodes, newest first. */
  @Get('alerts')
  @ApiOkResponse({ standardSchema: alertPageSchema })
  alerts(@Principal() p: ManufacturerPrincipal, @ZodQuery(alertListQuerySchema) q: AlertListQuery) {
    return this.rules.alerts(p, q);
  }

  /** The webhook delivery log, newest first. */
  @Get('alert-deliveries')
  @ApiOkResponse({ standardSchema: alertDeliveryPageSchema })
  deliveries(@Principal() p: ManufacturerPrincipal, @ZodQuery(alertDeliveryListQuerySchema) q: AlertDeliveryListQuery) {
    return this.rules.deliveries(p, q);
  }

  /** One delivery with its exact body and every attempt. */
  @Get('alert-deliveries/:id')
  @ApiOkResponse({ standardSchema: alertDeliverySchema })
  @ApiErrors(AlertErrors.deliveryNotFound())
  delivery(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('alert_delivery')) id: string) {
    return this.rules.delivery(p, id);
  }
}
