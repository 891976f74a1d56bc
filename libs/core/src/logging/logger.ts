import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';

export type { Logger } from 'pino';

/**
 * The process's logger: JSON lines on stdout through pino, at `LOG_LEVEL`, one `app` field per
 * process (api, worker). No colour codes, ever: pretty-printing is for a terminal (pipe through
 * `npx pino-pretty` if wanted), files and log shippers get plain JSON.
 *
 * Why pino directly and not nestjs-pino: nestjs-pino 5 (and pino-http 11) declare
 * `engines.node >= 22.12`, which warns EBADENGINE on the Node 20.19+ the README names; Fastify's
 * own hooks give the request line (see request-log.ts) in a few lines instead.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, app: string): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { app, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.errWithCause },
  });
}

/**
 * Nest's LoggerService over pino, so `new Logger(Context)` in any lib writes the same JSON lines.
 * Nest's own start-up chatter (module and route lines, logged at `log`) goes to debug; what the
 * code logs at `log` goes to info unless it comes from Nest itself.
 */
export class PinoNestLogger implements LoggerService {
  private static readonly NEST_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const context = contextOf(rest);
    if (context && PinoNestLogger.NEST_CONTEXTS.has(context)) this.write('debug', message, context);
    else this.write('info', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    const context = contextOf(rest);
    const trace = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    if (message instanceof Error) this.pino.error({ context, err: message }, message.message);
    else if (message !== null && typeof message === 'object') this.pino.error({ context, ...message });
    else this.pino.error({ context, ...(trace ? { trace } : {}) }, text(message));
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, contextOf(rest));
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, contextOf(rest));
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, contextOf(rest));
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, contextOf(rest));
  }

  private write(level: 'fatal' | 'warn' | 'info' | 'debug' | 'trace', message: unknown, context: string | undefined): void {
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) this.pino[level]({ context, ...message });
    else this.pino[level]({ context }, text(message));
  }
}

/** Nest passes the context as the last string argument. */
function contextOf(rest: unknown[]): string | undefined {
  const last = rest[rest.length - 1];
  return typeof last === 'string' ? last : undefined;
}

function text(message: unknown): string {
  if (message instanceof Error) return message.stack ?? message.message;
  return typeof message === 'string' ? message : JSON.stringify(message);
}
