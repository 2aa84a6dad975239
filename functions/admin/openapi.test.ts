import { describe, expect } from 'vitest';
import { it } from '../../test/it';

/**
 * The operator API's OpenAPI document is its client documentation: every field a client sends or
 * reads says what it is and shows an example, and every operation is named, tagged, secured and
 * lists the shared error responses. This walks the served document (what clients actually get),
 * so a field added without a description fails here, whichever file it was added in.
 */

type Schema = {
  $ref?: string;
  description?: string;
  example?: unknown;
  properties?: Record<string, Schema>;
  items?: Schema;
  prefixItems?: Schema[];
  additionalProperties?: Schema | boolean;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
};
type Parameter = {
  name: string;
  in: string;
  description?: string;
  example?: unknown;
  schema?: Schema;
};
type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>;
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

const ERROR_STATUSES = ['400', '401', '403', '404', '409', '413', '422', '429', '500', '503'];
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

const described = (s: { description?: string }) =>
  typeof s.description === 'string' && s.description.trim().length > 0;

/**
 * A `$ref`, or a `$ref` made nullable or re-described (`anyOf` / `allOf` of the `$ref` and bare
 * annotations): documented by its component.
 */
function refsOf(schema: Schema): string[] | null {
  if (schema.$ref) return [schema.$ref];
  const variants = schema.allOf ?? schema.anyOf ?? schema.oneOf;
  if (!variants) return null;
  const refs = variants.filter((v) => v.$ref).map((v) => v.$ref as string);
  const annotationsOnly = variants
    .filter((v) => !v.$ref)
    .every((v) => !v.properties && !v.items && !v.allOf && !v.anyOf && !v.oneOf);
  return refs.length > 0 && annotationsOnly ? refs : null;
}

/** Lists every undocumented place under `schema`; follows `$ref`s into the components once. */
function audit(doc: Document) {
  const problems: string[] = [];
  const visited = new Set<string>();

  function component(ref: string, where: string) {
    const name = ref.replace('#/components/schemas/', '');
    if (visited.has(name)) return;
    visited.add(name);
    const schema = doc.components.schemas[name];
    if (!schema) {
      problems.push(`${where}: ${ref} is not a component`);
      return;
    }
    if (!described(schema)) problems.push(`component ${name}: no description`);
    walk(schema, `component ${name}`);
  }

  function field(schema: Schema, where: string) {
    const refs = refsOf(schema);
    if (refs) {
      for (const ref of refs) component(ref, where);
      return;
    }
    if (!described(schema)) problems.push(`${where}: no description`);
    // A list of components is exemplified by its component's fields.
    const listOfComponents = schema.items !== undefined && refsOf(schema.items) !== null;
    if (schema.example === undefined && !listOfComponents) problems.push(`${where}: no example`);
    walk(schema, where);
  }

  function walk(schema: Schema, where: string) {
    if (schema.$ref) component(schema.$ref, where);
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      field(property, `${where}.${name}`);
    }
    if (schema.items) walk(schema.items, `${where}[]`);
    for (const [i, item] of (schema.prefixItems ?? []).entries()) walk(item, `${where}[${i}]`);
    if (typeof schema.additionalProperties === 'object') {
      walk(schema.additionalProperties, `${where}{}`);
    }
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      for (const [i, part] of (schema[key] ?? []).entries()) walk(part, `${where}.${key}[${i}]`);
    }
  }

  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/admin/') && !path.startsWith('/platform/')) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!METHODS.has(method)) continue;
      const name = `${method.toUpperCase()} ${path}`;
      if (!op.operationId) problems.push(`${name}: no operationId`);
      if (!op.summary?.trim()) problems.push(`${name}: no summary`);
      if (!op.tags?.length) problems.push(`${name}: no tags`);
      if (JSON.stringify(op.security) !== JSON.stringify([{ bearer: [] }])) {
        problems.push(`${name}: not secured by the bearer scheme`);
      }
      for (const status of ERROR_STATUSES) {
        const schema = op.responses[status]?.content?.['application/json']?.schema;
        if (schema?.$ref !== '#/components/schemas/Error') {
          problems.push(`${name}: no ${status} error response`);
        }
      }
      for (const param of op.parameters ?? []) {
        const where = `${name} ${param.in} parameter ${param.name}`;
        if (!described(param) && !described(param.schema ?? {})) {
          problems.push(`${where}: no description`);
        }
        if (param.example === undefined && param.schema?.example === undefined) {
          problems.push(`${where}: no example`);
        }
        if (param.schema) walk(param.schema, where);
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        walk(media.schema, `${name} body (${type})`);
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (!described(response)) problems.push(`${name} ${status}: no description`);
        for (const [type, media] of Object.entries(response.content ?? {})) {
          walk(media.schema, `${name} ${status} (${type})`);
        }
      }
    }
  }
  return problems;
}

it.override('harnessOptions', { standIns: false });

describe('GET /openapi.json (the operator API)', () => {
  let doc: Document;

  it.beforeAll(async ({ harness }) => {
    const res = await harness.request('/openapi.json');
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
  });

  it('describes every field of every request and response, with an example', () => {
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin/')).length).toBeGreaterThan(
      20,
    );
    expect(audit(doc)).toEqual([]);
  });

  it('finds an undocumented field (the audit itself can fail)', () => {
    const broken = structuredClone(doc);
    const me = broken.components.schemas.Me;
    expect(me?.properties?.user_id).toBeDefined();
    if (me?.properties) me.properties.user_id = { type: 'string' } as Schema;
    expect(audit(broken)).toContain('component Me.user_id: no description');
  });
});
