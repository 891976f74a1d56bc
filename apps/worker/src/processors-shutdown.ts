import { WorkerHost } from '@nestjs/bullmq';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';

/**
 * Stops every queue processor before the database goes. @nestjs/bullmq closes its workers only in
 * onApplicationShutdown, after every onModuleDestroy, PrismaService's disconnect included: a job
 * still running then (maintenance runs every second) would reopen the pool behind the closed app,
 * and the workers would keep taking new jobs in between. Closing here lets running jobs finish
 * on a live database and takes no new ones; the later close by @nestjs/bullmq is then a no-op.
 */
@Injectable()
export class ProcessorsShutdown implements OnModuleDestroy {
  constructor(private readonly discovery: DiscoveryService) {}

  async onModuleDestroy(): Promise<void> {
    const hosts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost);
    await Promise.all(
      hosts.map(async (host) => {
        let worker: WorkerHost['worker'];
        try {
          worker = host.worker;
        } catch {
          return; // never started (the app did not get to bootstrap)
        }
        await worker.close();
      }),
    );
  }
}
