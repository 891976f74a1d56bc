import { createParamDecorator, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { FleetErrors, TenantsService, type ApiRole, type ManufacturerPrincipal } from '@idlemint/fleet';

export type AuthedRequest = FastifyRequest & { principal?: ManufacturerPrincipal };

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
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers['x-api-key'];
    const principal = await this.tenants.authenticateApiKey(typeof header === 'string' ? header : undefined);
    const roles =
      this.reflector.getAllAndOverride<ApiRole[] | undefined>(ROLES, [ctx.getHandler(), ctx.getClass()]) ??
      (READ_METHODS.has(req.method) ? ['admin', 'viewer'] : ['admin']);
    if (!roles.includes(principal.role)) throw FleetErrors.forbiddenRole();
    req.principal = principal;
    return true;
  }
}

/** Authenticates `x-operator-key` against OPERATOR_KEY (401 AUTH.OPERATOR_KEY_INVALID). */
@Injectable()
export class OperatorAuthGuard implements CanActivate {
  constructor(private readonly tenants: TenantsService) {}

  canActivate(ctx: ExecutionContext): boolean {
    const header = ctx.switchToHttp().getRequest<FastifyRequest>().headers['x-operator-key'];
    this.tenants.assertOperator(typeof header === 'string' ? header : undefined);
    return true;
  }
}

/** The authenticated manufacturer principal of the request (ManufacturerAuthGuard). */
export const Principal = createParamDecorator((_: unknown, ctx: ExecutionContext): ManufacturerPrincipal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!p) throw new Error('Principal() used on a route without ManufacturerAuthGuard');
  return p;
});
