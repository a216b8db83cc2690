/**
 * Stored responses of the Responses API in Postgres (cluster mode): the columns of SQLite's
 * stored_responses and stored_response_items (migrations 4 and 5), so a response stored through one
 * instance can be read and continued through another (response-store.ts). Idempotent.
 */
export const PG_STORED_RESPONSES = `
CREATE TABLE IF NOT EXISTS stored_responses (
  id           text PRIMARY KEY,
  scope        text NOT NULL,
  mode         text NOT NULL CHECK (mode IN ('stored', 'provider')),
  provider     text NOT NULL,
  model        text NOT NULL,
  key_id       text,
  created_at   bigint NOT NULL,
  response     text,
  input_items  text,
  status       text,
  runner       text
);
CREATE INDEX IF NOT EXISTS stored_responses_created ON stored_responses (created_at);
CREATE TABLE IF NOT EXISTS stored_response_items (
  scope        text NOT NULL,
  item_id      text NOT NULL,
  response_id  text NOT NULL REFERENCES stored_responses (id) ON DELETE CASCADE,
  item         text NOT NULL,
  PRIMARY KEY (scope, item_id)
);
CREATE INDEX IF NOT EXISTS stored_response_items_response ON stored_response_items (response_id);
`;
