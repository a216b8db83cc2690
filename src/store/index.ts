/** Public surface of the store. */
export { Store, type StoreOptions } from './store.js';
export {
  DATABASE_FILE, databasePath, migrate, openDatabase, schemaVersion,
  type OpenDatabaseOptions, type SqliteDatabase,
} from './database.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export {
  ENCRYPTION_KEY_ENV, ENCRYPTION_KEY_FILE, SecretBox, last4, loadMasterKey,
  type LoadMasterKeyOptions, type MasterKey, type MasterKeySource,
} from './secret-box.js';
export type {
  LogAttempt, LogSurface, RequestLogRecord, RequestLogSummary, StoredRequestLog,
} from './log-types.js';
export {
  LogWriter, type LogBodyOptions, type LogWriterOptions, type LogWriterStats, type RequestLogWriter,
} from './log-writer.js';
export { ThreadedLogWriter, type ThreadedLogWriterOptions } from './threaded-log-writer.js';
export {
  DEFAULT_LIMIT, LogQueries, MAX_LIMIT,
  type ListLogsParams, type LogPage, type LogSort, type LogStats, type LogStatsBucket, type LogStatsParams,
  type LogStatsTop, type SortOrder, type StatusClass,
} from './log-queries.js';
export {
  DEFAULT_MAX_AGE_MS, DEFAULT_MAX_BYTES, LogRetention,
  type RetentionLimits, type RetentionOptions, type RetentionResult, type RetentionStep,
} from './retention.js';
export { ConfigRepo } from './config-repo.js';
export { AuditLog, auditContext } from './audit-log.js';
export { AuthStore, ROLES, sha256Hex, type ApiTokenRecord, type Role, type SessionRecord, type UserInput, type UserPatch, type UserRecord } from './auth-store.js';
export type * from './config-types.js';
export { REDACTED, isSecretKey, prepareBody, redactJsonText, redactText, redactValue, truncateUtf8 } from './redact.js';
export { silentLogger, type StoreLogger } from './store-logger.js';
export { ResponseStore, type StoredResponse, type StoredResponseMode } from './response-store.js';
