import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { AlertDeliveryService, AlertsEvaluator, WebhookForbiddenError } from '@idlemint/alerts';
import { JOB_NAME, QUEUE, type JobPayloads } from '@idlemint/core';
import { FAST_RECOVERY } from './lease.js';

type AlertsJob = Job<JobPayloads['alerts.evaluate']> | Job<JobPayloads['alerts.deliver']>;

/** Alert rule evaluation (scheduled) and webhook deliveries with backoff; the last failure marks a delivery dead. */
@Processor(QUEUE.alerts, { concurrency: 8, ...FAST_RECOVERY })
export class AlertsProcessor extends WorkerHost {
  private readonly log = new Logger(AlertsProcessor.name);

  constructor(
    private readonly evaluator: AlertsEvaluator,
    private readonly deliveries: AlertDeliveryService,
  ) {
    super();
  }

  async process(job: AlertsJob): Promise<unknown> {
    if (job.name === JOB_NAME['alerts.evaluate']) return this.evaluator.evaluateAll();
    if (job.name === JOB_NAME['alerts.deliver']) {
      try {
        return await this.deliveries.deliver((job.data as JobPayloads['alerts.deliver']).deliveryId);
      } catch (e) {
        if (e instanceof WebhookForbiddenError) throw new UnrecoverableError(e.message);
        throw e;
      }
    }
    throw new UnrecoverableError(`unknown alerts job ${job.name}`);
  }

  @OnWorkerEvent('failed')
  async onFailed(job: AlertsJob | undefined, error: Error): Promise<void> {
    if (!job || job.name !== JOB_NAME['alerts.deliver']) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    const { deliveryId } = job.data as JobPayloads['alerts.deliver'];
    this.log.warn(`alert delivery ${deliveryId} dead: ${error.message}`);
    await this.deliveries.markDead(deliveryId, error.message);
  }
}
