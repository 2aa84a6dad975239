import { OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../app';
import type { HonoEnv } from '../context';
import { operatorAuth } from '../middleware/operator-auth';
import { registerMe } from './me';

/** The operator API: every route behind operator authentication and tenant membership. */
export function adminApp() {
  const admin = new OpenAPIHono<HonoEnv>({ defaultHook: validationHook });
  admin.use('*', operatorAuth);
  registerMe(admin);
  return admin;
}
