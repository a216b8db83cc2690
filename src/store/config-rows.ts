/** Row mapping and write helpers for ConfigRepo. */
import type { Statement } from 'better-sqlite3';
import { invalidField } from '../errors/gateway-error.js';
import type { ConfigSource, ModelGroupRecord, ProviderRecord } from './config-types.js';

export type Row = Record<string, unknown>;

export interface Statements {
  [name: string]: Statement;
}

export function json(text: unknown): unknown {
  return typeof text === 'string' ? JSON.parse(text) : null;
}

export function providerFromRow(row: Row): ProviderRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    type: row.type as string,
    base_url: row.base_url as string | null,
    enabled: row.enabled === 1,
    options: json(row.options) as Record<string, unknown>,
    source: row.source as ConfigSource,
    created_at: row.created_at as number,
    updated_at: row.updated_at as number,
  };
}

export function modelGroupFromRow(row: Row): ModelGroupRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    deployments: json(row.deployments) as ModelGroupRecord['deployments'],
    fallbacks: json(row.fallbacks) as string[],
    options: json(row.options) as Record<string, unknown>,
    enabled: row.enabled === 1,
    source: row.source as ConfigSource,
    created_at: row.created_at as number,
    updated_at: row.updated_at as number,
  };
}

/** SQLite refused a row because a UNIQUE column already holds its value. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Turns UNIQUE / FOREIGN KEY failures into errors that name the field at fault. */
export function constraint<T>(write: () => T, unique: [field: string, message: string], foreign?: [string, string]): T {
  try {
    return write();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw invalidField(unique[0], unique[1]);
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' && foreign) throw invalidField(foreign[0], foreign[1]);
    throw error;
  }
}

/** The patch without keys set to undefined, so a spread does not erase fields. */
export function defined<T extends object>(patch: T): T {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as T;
}
