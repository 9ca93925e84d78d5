/**
 * Everything operators and their monitoring use, installed on the app in one call: the operator API
 * (routes/operator.ts), its OpenAPI document, the dashboard at `/`, and Prometheus `/metrics`.
 *
 * Authentication: everything is behind the token except the dashboard page itself (it holds no data: it
 * asks for the token and sends it with every API call) and the OpenAPI document (the API's shape, as
 * public as the README). `/metrics` needs the token (Prometheus: `authorization: {credentials: ...}`).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../metrics.js';
import { installHttpMetrics } from '../metrics.js';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from './dashboard/page.js';
import { errorHandler } from './errors.js';
import { collectRoutes, OPENAPI_PATH, openApiRoute } from './openapi.js';
import { operatorRoutes, type OperatorDeps } from './routes/operator.js';
import { statusRoute } from './routes/status.js';

export type { OperatorDeps } from './routes/operator.js';

const PUBLIC_PATHS = new Set(['/', OPENAPI_PATH]);

/** For `installAuth`'s `isPublic`: the dashboard page and the OpenAPI document. */
export function isPublicOperatorRequest(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && PUBLIC_PATHS.has(request.url.split('?')[0]!);
}

/** Schema validation failures name the parameter; everything else goes to the app's error handler. */
function operatorErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.validation) {
    const where = error.validationContext === 'querystring' ? 'query parameter' : error.validationContext === 'params' ? 'path parameter' : 'body';
    const first = error.validation[0];
    const field = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    void reply.code(400).send({
      error: 'invalid_parameter',
      message: `${where}${field ? ` '${field}'` : ''} ${first?.message ?? 'is invalid'}`,
    });
    return;
  }
  errorHandler(error, request, reply);
}

export interface OperatorApiDeps {
  operator?: OperatorDeps;
  metrics?: Metrics;
}

export function installOperatorApi(app: FastifyInstance, deps: OperatorApiDeps): void {
  if (deps.metrics) installHttpMetrics(app, deps.metrics);
  const operator = deps.operator;
  if (!operator) return;
  void app.register(async (scope) => {
    const routes = collectRoutes(scope);
    scope.setErrorHandler(operatorErrorHandler);
    operatorRoutes(scope, {
      ...operator,
      onAction: (action, result, state) => {
        deps.metrics?.action(action, result, state);
        operator.onAction?.(action, result, state);
      },
    });
    if (operator.status) statusRoute(scope, operator.status);
    openApiRoute(scope, routes);
    scope.get('/', async (_request, reply) => reply.headers(DASHBOARD_HEADERS).send(DASHBOARD_HTML));
  });
}
