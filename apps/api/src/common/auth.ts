import { createParamDecorator, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { FleetErrors, OwnersService, TenantsService, type ApiRole, type ManufacturerPrincipal } from '@idlemint/fleet';
import { AuthFailures } from '../http/auth-failures.js';

export interface OwnerPrincipal {
  id: string;
  payoutsHaltedAt: Date | null;
  payoutAddress: string | null;
}
export type AuthedRequest = FastifyRequest & { principal?: ManufacturerPrincipal; owner?: OwnerPrincipal | null };

const ROLES = 'auth:roles';
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * The roles a manufacturer API route admits. Without it, reads (GET, HEAD) admit every role and
 * everything else only `admin`: a new mutating route is closed to viewers unless it says otherwise.
 */
export const Roles = (...roles: ApiRole[]) => SetMetadata(ROLES, roles);

/**
 * Authenticates `x-api-key` (401 AUTH.API_KEY_INVALID), checks the route's roles
 * (403 AUTH.ROLE_FORBIDDEN) and puts the principal on the request for `@Principal()`.
 * Runs before validation: an unauthenticated caller learns nothing about the body it sent.
 */
@Injectable()
export class ManufacturerAuthGuard implements CanActivate {
  constructor(
    private readonly tenants: TenantsService,
    private readonly reflector: Reflector,
    private readonly failures: AuthFailures,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers['x-api-key'];
    const principal = await this.failures.guard(req.ip, () =>
      this.tenants.authenticateApiKey(typeof header === 'string' ? header : undefined),
    );
    const roles =
      this.reflector.getAllAndOverride<ApiRole[] | undefined>(ROLES, [ctx.getHandler(), ctx.getClass()]) ??
      (READ_METHODS.has(req.method) ? ['admin', 'viewer'] : ['admin']);
    if (!roles.includes(principal.role)) throw FleetErrors.forbiddenRole();
    req.principal = principal;
    return true;
  }
}

/** Authenticates `x-operator-key` against OPERATOR_KEY (401 AUTH.OPERATOR_KEY_INVALID); failures count per IP (AuthFailures). */
@Injectable()
export class OperatorAuthGuard implements CanActivate {
  constructor(
    private readonly tenants: TenantsService,
    private readonly failures: AuthFailures,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers['x-operator-key'];
    await this.failures.guard(req.ip, () => this.tenants.assertOperator(typeof header === 'string' ? header : undefined));
    return true;
  }
}

const OWNER_OPTIONAL = 'auth:owner-optional';
/** The owner route admits callers without a token (claim: a new owner is made); a token sent must still be valid. */
export const OwnerOptional = () => SetMetadata(OWNER_OPTIONAL, true);

const bearer = (h: unknown): string | undefined => (typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined);

/**
 * Authenticates the owner token (`authorization: Bearer …`, 401 OWNER.UNAUTHORIZED) before any
 * body is read, and puts the owner (or null on an @OwnerOptional route without the header) on
 * the request for `@Owner()`.
 */
@Injectable()
export class OwnerAuthGuard implements CanActivate {
  constructor(
    private readonly owners: OwnersService,
    private readonly reflector: Reflector,
    private readonly failures: AuthFailures,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    const optional = this.reflector.getAllAndOverride<boolean | undefined>(OWNER_OPTIONAL, [ctx.getHandler(), ctx.getClass()]);
    if (header === undefined && optional) {
      req.owner = null;
      return true;
    }
    const owner = await this.failures.guard(req.ip, () => this.owners.authenticate(bearer(header) ?? ''));
    req.owner = { id: owner.id, payoutsHaltedAt: owner.payoutsHaltedAt, payoutAddress: owner.payoutAddress };
    return true;
  }
}

/** The authenticated owner of the request (OwnerAuthGuard); null on an @OwnerOptional route without a token. */
export const Owner = createParamDecorator((_: unknown, ctx: ExecutionContext): OwnerPrincipal | null => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (req.owner === undefined) throw new Error('Owner() used on a route without OwnerAuthGuard');
  return req.owner;
});

/** The authenticated manufacturer principal of the request (ManufacturerAuthGuard). */
export const Principal = createParamDecorator((_: unknown, ctx: ExecutionContext): ManufacturerPrincipal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!p) throw new Error('Principal() used on a route without ManufacturerAuthGuard');
  return p;
});
