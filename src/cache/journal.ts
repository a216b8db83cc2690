/**
 * What the cache page and GET /api/cache/stats read besides the live entries:
 * savings per hour (hits, semantic hits, misses, USD and tokens saved) and the
 * semantic matches of shadow mode (the question, the stored question and
 * answer, the real answer, the similarity and which guard, if any, would
 * have refused it). Both are written in the store's cache.db, behind the
 * request path; the shadow list keeps its newest `SHADOW_KEEP` rows.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from '../store/database.js';

const HOUR_MS = 3_600_000;
export const SHADOW_KEEP = 1000;

export interface ShadowRecord {
  time: number;
  request_id: string;
  scope: string;
  model: string;
  entry_id: string;
  similarity: number;
  threshold: number;
  guard: string | null;
  question: string;
  cached_question: string;
  cached_answer: string;
  real_answer: string | null;
}

export interface SavingsHour {
  hour: number;
  hits: number;
  semantic_hits: number;
  misses: number;
  saved_usd: number;
  saved_tokens: number;
}

export type Outcome = 'hit' | 'semantic-hit' | 'miss';

export class CacheJournal {
  private readonly hours = new Map<number, SavingsHour>();
  private shadows: ShadowRecord[] = [];
  private readonly statements: { savings: Database.Statement; shadow: Database.Statement; trim: Database.Statement };

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      savings: db.prepare(`INSERT INTO cache_savings (hour, hits, semantic_hits, misses, saved_usd, saved_tokens)
        VALUES (@hour, @hits, @semantic_hits, @misses, @saved_usd, @saved_tokens)
        ON CONFLICT (hour) DO UPDATE SET hits = hits + excluded.hits, semantic_hits = semantic_hits + excluded.semantic_hits,
        misses = misses + excluded.misses, saved_usd = saved_usd + excluded.saved_usd, saved_tokens = saved_tokens + excluded.saved_tokens`),
      shadow: db.prepare(`INSERT INTO cache_shadow (time, request_id, scope, model, entry_id, similarity, threshold, guard, question,
        cached_question, cached_answer, real_answer) VALUES (@time, @request_id, @scope, @model, @entry_id, @similarity, @threshold,
        @guard, @question, @cached_question, @cached_answer, @real_answer)`),
      trim: db.prepare('DELETE FROM cache_shadow WHERE id <= (SELECT id FROM cache_shadow ORDER BY id DESC LIMIT 1 OFFSET ?)'),
    };
  }

  count(now: number, outcome: Outcome, savedUsd: number, savedTokens: number): void {
    const hour = now - (now % HOUR_MS);
    let row = this.hours.get(hour);
    if (row === undefined) {
      row = { hour, hits: 0, semantic_hits: 0, misses: 0, saved_usd: 0, saved_tokens: 0 };
      this.hours.set(hour, row);
    }
    if (outcome === 'hit') row.hits++;
    else if (outcome === 'semantic-hit') row.semantic_hits++;
    else row.misses++;
    row.saved_usd += savedUsd;
    row.saved_tokens += savedTokens;
  }

  shadow(record: ShadowRecord): void {
    this.shadows.push(record);
  }

  /** Writes what is pending, in one transaction. */
  flush(): void {
    if (this.hours.size === 0 && this.shadows.length === 0) return;
    const hours = [...this.hours.values()];
    const shadows = this.shadows;
    this.hours.clear();
    this.shadows = [];
    this.db.transaction(() => {
      for (const row of hours) this.statements.savings.run(row);
      for (const record of shadows) this.statements.shadow.run(record);
      if (shadows.length > 0) this.statements.trim.run(SHADOW_KEEP);
    })();
  }

  /** Savings per hour since `from`, oldest first (what is pending included). */
  savings(from: number): SavingsHour[] {
    this.flush();
    return this.db.prepare('SELECT hour, hits, semantic_hits, misses, saved_usd, saved_tokens FROM cache_savings WHERE hour >= ? ORDER BY hour').all(from - (from % HOUR_MS)) as SavingsHour[];
  }

  /** The newest shadow-mode matches, newest first. */
  shadowMatches(limit: number): ShadowRecord[] {
    this.flush();
    return this.db.prepare(`SELECT time, request_id, scope, model, entry_id, similarity, threshold, guard, question, cached_question,
      cached_answer, real_answer FROM cache_shadow ORDER BY id DESC LIMIT ?`).all(limit) as ShadowRecord[];
  }

  clearShadow(): void {
    this.flush();
    this.db.prepare('DELETE FROM cache_shadow').run();
  }
}
