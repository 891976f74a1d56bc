import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONFIG, DependencyMonitor, type Config } from '@idlemint/core';

/**
 * The worker has no API; when WORKER_HEALTH_PORT is set it answers the two probes on it:
 * `/health/live` (the process runs) and `/health/ready` (PostgreSQL and Redis answer; a 503 names
 * the one that is down, never its error).
 */
@Injectable()
export class HealthServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(HealthServer.name);
  private server?: Server;

  constructor(
    private readonly deps: DependencyMonitor,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** The port it listens on (useful with WORKER_HEALTH_PORT=0); undefined when off. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.WORKER_HEALTH_PORT === undefined) return;
    this.server = createServer((req, res) => {
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/health/live') return send(200, { status: 'live' });
      if (req.url !== '/health/ready' && req.url !== '/health') {
        return send(404, { error: { code: 'HTTP.NOT_FOUND', message: 'not found' } });
      }
      void this.deps.check().then((state) => {
        const down = (Object.keys(state) as (keyof typeof state)[]).filter((k) => state[k] === 'down');
        if (down.length === 0) return send(200, { status: 'ok', ...state });
        res.setHeader('retry-after', '2');
        send(503, { error: { code: 'HEALTH.DEPENDENCY_DOWN', message: `${down.join(' and ')} unavailable`, details: state } });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.config.WORKER_HEALTH_PORT, this.config.API_HOST, resolve));
    this.log.log(`worker health on http://${this.config.API_HOST}:${this.port}/health/ready`);
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
