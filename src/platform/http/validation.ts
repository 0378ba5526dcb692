import { Ajv, type Options } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

// removeAdditional stays off: with it, Ajv would silently drop an unknown field instead of refusing it.
const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false };

function build(options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options });
  addFormats(ajv);
  return ajv;
}

/**
 * Bodies are validated as sent (a number is not silently turned into a string); querystrings,
 * params and headers arrive as text and are coerced to the schema's types.
 */
const strict = build({ coerceTypes: false });
const coercing = build({ coerceTypes: 'array' });

type JsonSchema = { [key: string]: unknown };

const isSchema = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A copy of `schema` in which every object that does not say otherwise refuses properties it does
 * not declare (`additionalProperties: false`), at every depth. Done here, once for every route, so a
 * typo in a body field or query parameter fails loudly (VALIDATION_FAILED naming it) instead of
 * being ignored, without each schema having to remember it. An object that sets
 * `additionalProperties` itself keeps its choice; `allOf` branches are left open, since closing
 * each branch would refuse the properties of the others.
 */
export function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (!isSchema(schema)) return schema;
  const copy: JsonSchema = { ...schema };
  if (isSchema(copy.properties)) copy.properties = Object.fromEntries(Object.entries(copy.properties).map(([name, value]) => [name, closeObjects(value)]));
  if (copy.items !== undefined) copy.items = closeObjects(copy.items);
  for (const key of ['anyOf', 'oneOf'] as const) if (Array.isArray(copy[key])) copy[key] = (copy[key] as unknown[]).map(closeObjects);
  const isObject = copy.type === 'object' || (copy.type === undefined && isSchema(copy.properties));
  if (isObject && copy.additionalProperties === undefined && copy.patternProperties === undefined && copy.allOf === undefined) copy.additionalProperties = false;
  return copy;
}

/** Query of a route that declares none: no parameter is accepted (see closeObjects). */
export const NoQuery = { type: 'object', properties: {}, additionalProperties: false } as const;

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return strict.compile(closeObjects(schema) as object);
  if (httpPart === 'querystring') return coercing.compile(closeObjects(schema) as object);
  return coercing.compile(schema);
};
