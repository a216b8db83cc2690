/**
 * A batch job as GET /api/batches answers it (docs/native-passthrough.md#batch-jobs). Types only, no
 * imports: the dashboard imports them too (nothing of the server enters its bundle).
 */
export type BatchApi = 'openai' | 'anthropic';

export interface BatchJob {
  id: string;
  provider: string;
  api: BatchApi;
  virtual_key_id: string | null;
  models: string[];
  endpoint: string | null;
  status: string;
  input_file_id: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  created_at: number;
  completed_at: number | null;
  updated_at: number;
  request_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  charged_at: number | null;
  charged_request_id: string | null;
}
