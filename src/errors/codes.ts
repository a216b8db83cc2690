/**
 * The one registry of Heimdall error codes. Each code has its HTTP status, the
 * OpenAI error `type` it renders as, and the short `code` string SDKs see.
 * docs/errors.md documents every entry; a test fails when one is missing there.
 */
export interface ErrorSpec {
  status: number;
  /** OpenAI `error.type`. */
  type: string;
  /** OpenAI `error.code`, also used by the other surfaces where they have a code. */
  code: string;
  description: string;
}

export const ERROR_CODES = {
  HD_ERR_REQUEST_INVALID_JSON: {
    status: 400, type: 'invalid_request_error', code: 'invalid_json',
    description: 'The request body is not valid JSON.',
  },
  HD_ERR_REQUEST_INVALID_FIELD: {
    status: 400, type: 'invalid_request_error', code: 'invalid_value',
    description: 'A field is missing or has the wrong type; `param` names it.',
  },
  HD_ERR_REQUEST_UNSUPPORTED_PARAM: {
    status: 400, type: 'invalid_request_error', code: 'unsupported_parameter',
    description: 'Strict mode: a parameter the target provider cannot take was sent.',
  },
  HD_ERR_REQUEST_TOO_LARGE: {
    status: 413, type: 'invalid_request_error', code: 'request_too_large',
    description: 'The request body is larger than the configured limit (`limits.max_body_bytes`).',
  },
  HD_ERR_ROUTE_NOT_FOUND: {
    status: 404, type: 'invalid_request_error', code: 'not_found',
    description: 'No such route.',
  },
  HD_ERR_MODEL_NOT_FOUND: {
    status: 404, type: 'invalid_request_error', code: 'model_not_found',
    description: 'The model is unknown: no enabled provider serves it. The message lists what is available.',
  },
  HD_ERR_PROVIDER_UNKNOWN: {
    status: 404, type: 'invalid_request_error', code: 'provider_not_found',
    description: 'The `provider/` prefix names no provider Heimdall knows.',
  },
  HD_ERR_PROVIDER_NOT_CONFIGURED: {
    status: 400, type: 'invalid_request_error', code: 'provider_not_configured',
    description: 'The provider exists but is not enabled (no API key set). The message names the variable to set.',
  },
  HD_ERR_PROVIDER_UNSUPPORTED_OPERATION: {
    status: 400, type: 'invalid_request_error', code: 'unsupported_operation',
    description: 'The provider does not offer this endpoint (for example embeddings).',
  },
  HD_ERR_AUTH_MISSING_KEY: {
    status: 401, type: 'authentication_error', code: 'missing_api_key',
    description: 'A virtual key is required and none was sent.',
  },
  HD_ERR_AUTH_INVALID_KEY: {
    status: 401, type: 'authentication_error', code: 'invalid_api_key',
    description: 'The key sent is not a valid virtual key: unknown, revoked or expired (or not the admin token).',
  },
  HD_ERR_AUTH_TEAM_DISABLED: {
    status: 403, type: 'permission_error', code: 'team_disabled',
    description: "The virtual key is valid but its team is disabled; its calls are refused until the team is enabled again.",
  },
  HD_ERR_AUTH_CUSTOMER_DISABLED: {
    status: 403, type: 'permission_error', code: 'customer_disabled',
    description: "The virtual key is valid but its customer (its own, or its team's) is disabled; its calls are refused until the customer is enabled again.",
  },
  HD_ERR_AUTH_FORBIDDEN: {
    status: 403, type: 'permission_error', code: 'model_not_allowed',
    description: 'The virtual key may not use this provider or model.',
  },
  HD_ERR_ADMIN_LOOPBACK_ONLY: {
    status: 403, type: 'permission_error', code: 'admin_loopback_only',
    description: 'No admin token is configured, so the management API answers loopback clients only.',
  },
  HD_ERR_ADMIN_UNAUTHORIZED: {
    status: 401, type: 'authentication_error', code: 'admin_auth_required',
    description: 'The management API needs the admin token (Bearer header) or a dashboard session; none valid was sent.',
  },
  HD_ERR_ADMIN_FORBIDDEN: {
    status: 403, type: 'permission_error', code: 'admin_request_refused',
    description: 'A management API call from another site (Origin or Host not this gateway) was refused.',
  },
  HD_ERR_ADMIN_ROLE_FORBIDDEN: {
    status: 403, type: 'permission_error', code: 'admin_role_forbidden',
    description: 'The signed-in user\'s role (or the API token\'s scopes, or a member\'s team) does not allow this management API call.',
  },
  HD_ERR_ADMIN_ACCOUNT_LOCKED: {
    status: 429, type: 'rate_limit_error', code: 'admin_account_locked',
    description: 'The account is locked for a while after repeated wrong passwords (auth.lockout); Retry-After says how long.',
  },
  HD_ERR_ADMIN_SSO_FAILED: {
    status: 400, type: 'authentication_error', code: 'admin_sso_failed',
    description: 'A single sign-on (OpenID Connect or GitHub) answer was refused: unknown or reused state, wrong nonce, a failed code exchange, or a user the mapping does not admit.',
  },
  HD_ERR_ADMIN_NOT_FOUND: {
    status: 404, type: 'invalid_request_error', code: 'not_found',
    description: 'The management API object (provider, key, log, model group...) does not exist.',
  },
  HD_ERR_ADMIN_CONFLICT: {
    status: 409, type: 'invalid_request_error', code: 'conflict',
    description: 'The change conflicts with what exists: the name is taken, or the object is declared in the config file or environment (change it there).',
  },
  HD_ERR_BUDGET_EXCEEDED: {
    status: 402, type: 'insufficient_quota', code: 'budget_exceeded',
    description: 'A budget (key, team or customer) is used up for the current period.',
  },
  HD_ERR_BUDGET_PRICE_UNKNOWN: {
    status: 403, type: 'permission_error', code: 'model_price_unknown',
    description: 'The model has no known price and a budget of the virtual key (or its team or customer) refuses unpriced models (`refuse_unpriced`).',
  },
  HD_ERR_RATE_LIMITED: {
    status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded',
    description: 'A virtual key rate limit was reached; `Retry-After` says when to retry.',
  },
  HD_ERR_QUEUE_FULL: {
    status: 429, type: 'rate_limit_error', code: 'provider_queue_full',
    description: "The provider's concurrency limit and its queue are full.",
  },
  HD_ERR_QUEUE_TIMEOUT: {
    status: 503, type: 'api_error', code: 'provider_queue_timeout',
    description: "The request waited in the provider's queue longer than its `queue_timeout_ms`.",
  },
  HD_ERR_UPSTREAM_ERROR: {
    status: 502, type: 'api_error', code: 'upstream_error',
    description: "The provider answered with an error; its status and message are carried through.",
  },
  HD_ERR_UPSTREAM_UNREACHABLE: {
    status: 502, type: 'api_error', code: 'upstream_unreachable',
    description: 'The provider could not be reached (connection refused, reset, DNS).',
  },
  HD_ERR_UPSTREAM_BAD_RESPONSE: {
    status: 502, type: 'api_error', code: 'upstream_bad_response',
    description: 'The provider answered with something that is not its documented format.',
  },
  HD_ERR_UPSTREAM_UNAVAILABLE: {
    status: 503, type: 'api_error', code: 'upstream_unavailable',
    description: 'Every deployment of the model is unavailable (circuit open or no healthy key).',
  },
  HD_ERR_UPSTREAM_TIMEOUT: {
    status: 504, type: 'timeout_error', code: 'upstream_timeout',
    description: 'The provider did not answer in time (connect, first byte, idle or total timeout).',
  },
  HD_ERR_SHUTTING_DOWN: {
    status: 503, type: 'api_error', code: 'shutting_down',
    description: 'The gateway is shutting down and takes no new requests.',
  },
  HD_ERR_PLUGIN_REFUSED: {
    status: 403, type: 'invalid_request_error', code: 'plugin_refused',
    description: 'A plugin refused the request (a guardrail); the status is the one the plugin chose, 403 by default.',
  },
  HD_ERR_PLUGIN_FAILED: {
    status: 500, type: 'api_error', code: 'plugin_failed',
    description: 'A plugin set to `fail_closed` threw or timed out; the plugin is named in the message, details are in the log.',
  },
  HD_ERR_OVERLOADED: {
    status: 503, type: 'api_error', code: 'overloaded',
    description: 'The gateway has `limits.max_in_flight` requests in flight (and its `limits.max_queue` is full, or the wait passed `limits.queue_timeout_ms`), or its event loop runs later than `limits.max_event_loop_delay_ms`; the request is refused at once, before any work. `Retry-After` says when to retry. Anthropic callers get `overloaded_error`, Gemini callers `UNAVAILABLE`.',
  },
  HD_ERR_INTERNAL: {
    status: 500, type: 'api_error', code: 'internal_error',
    description: 'An unexpected error inside Heimdall; details are in its log, never in the response.',
  },
  HD_ERR_REQUEST_MALFORMED: {
    status: 400, type: 'invalid_request_error', code: 'invalid_value',
    description: 'A field has a shape the request cannot be translated with (a null where an object belongs, a string where an array belongs); the message says which part of the request.',
  },
  HD_ERR_REQUEST_TOO_DEEP: {
    status: 400, type: 'invalid_request_error', code: 'invalid_json',
    description: 'The JSON body nests objects and arrays deeper than 128 levels.',
  },
  HD_ERR_REQUEST_BAD_URL: {
    status: 400, type: 'invalid_request_error', code: 'invalid_url',
    description: 'The URL is malformed (a bad percent-encoding such as `%E0%A4%A`).',
  },
  HD_ERR_REQUEST_CONTENT_TYPE: {
    status: 415, type: 'invalid_request_error', code: 'unsupported_media_type',
    description: 'A model route was called without `Content-Type: application/json`. Browsers send cross-site form and `text/plain` requests without asking first; refusing them keeps web pages from calling the gateway.',
  },
  HD_ERR_REQUEST_HEADERS_TOO_LARGE: {
    status: 431, type: 'invalid_request_error', code: 'headers_too_large',
    description: 'The request headers are larger than the server accepts (Node\'s `--max-http-header-size`, 16 KiB by default).',
  },
  HD_ERR_REQUEST_EXPECTATION: {
    status: 417, type: 'invalid_request_error', code: 'expectation_failed',
    description: 'The request has an `Expect` header other than `100-continue`.',
  },
  HD_ERR_HOST_NOT_ALLOWED: {
    status: 403, type: 'permission_error', code: 'host_not_allowed',
    description: 'The `Host` header names none of the addresses the gateway listens on nor `server.allowed_hosts` (a DNS-rebinding defence).',
  },
  HD_ERR_ORIGIN_NOT_ALLOWED: {
    status: 403, type: 'permission_error', code: 'origin_not_allowed',
    description: 'A browser request from a web page whose origin is not in `server.cors.origins`.',
  },
  HD_ERR_RESPONSES_NOT_STORED: {
    status: 400, type: 'invalid_request_error', code: 'stored_responses_unavailable',
    description: 'A Responses request needs something the gateway does not store for a bridged provider (a `conversation`, an item reference); send the items themselves.',
  },
  HD_ERR_TOO_MANY_CONNECTIONS: {
    status: 429, type: 'rate_limit_error', code: 'too_many_connections',
    description: 'The client address has `server.max_connections_per_client` connections open already; the new one is answered and closed. `Retry-After` says when to retry.',
  },
  HD_ERR_BUDGET_IN_FLIGHT: {
    status: 429, type: 'rate_limit_error', code: 'budget_reserved_in_flight',
    description: 'The budget is not spent, but what requests in flight have reserved leaves too little for this one; `Retry-After` says when to retry (they settle within seconds).',
  },
  HD_ERR_CACHE_MISS: {
    status: 504, type: 'api_error', code: 'cache_miss',
    description: '`x-heimdall-cache: only` was asked and the cache holds no answer to the request (nothing was sent upstream).',
  },
  HD_ERR_LIMITS_UNAVAILABLE: {
    status: 503, type: 'api_error', code: 'limits_unavailable',
    description: 'Cluster mode: Redis, which holds the shared budgets and rate limits, cannot be reached, and a budget or rate limit of this request is set to fail closed (`fail_mode: "closed"`); `Retry-After` says when to retry.',
  },
  HD_ERR_REQUEST_DEADLINE: {
    status: 504, type: 'timeout_error', code: 'request_deadline_exceeded',
    description: "The request's total time (timeouts.total_ms) ran out across its attempts, retries and fallbacks.",
  },
  HD_ERR_RESPONSE_NOT_FOUND: {
    status: 404, type: 'invalid_request_error', code: 'not_found',
    description: 'No stored response with this id for this virtual key (`GET`/`DELETE /v1/responses/{id}`, `.../input_items`, `.../cancel`): it never existed, was deleted, expired with the retention, or belongs to another key.',
  },
  HD_ERR_RESPONSES_PREVIOUS_NOT_FOUND: {
    status: 400, type: 'invalid_request_error', code: 'previous_response_not_found',
    description: '`previous_response_id` names no stored response of this virtual key.',
  },
  HD_ERR_RESPONSES_PREVIOUS_ELSEWHERE: {
    status: 400, type: 'invalid_request_error', code: 'previous_response_unavailable',
    description: '`previous_response_id` names a response that a provider with its own Responses storage keeps (OpenAI pass-through), and the request went to a provider without the Responses API: the gateway does not have that response\'s items. Continue with a model of the provider that made it, or send the conversation as input items.',
  },
  HD_ERR_RESPONSE_NOT_CANCELLABLE: {
    status: 400, type: 'invalid_request_error', code: 'invalid_request',
    description: 'Only responses created with `background: true` can be cancelled.',
  },
  HD_ERR_RESPONSES_BACKGROUND_FULL: {
    status: 429, type: 'rate_limit_error', code: 'background_jobs_full',
    description: 'This gateway already runs `responses.background.max_jobs` background responses; retry when one has finished.',
  },
  HD_ERR_RESPONSES_STREAM_UNAVAILABLE: {
    status: 400, type: 'invalid_request_error', code: 'invalid_request',
    description: 'GET /v1/responses/{id}?stream=true of a response that cannot be streamed: only a background response created with `stream: true` can be, while the gateway keeps its events (while it runs and 5 minutes after), and only after an event it still keeps.',
  },
  HD_ERR_WEBSOCKET_UPGRADE_REQUIRED: {
    status: 426, type: 'invalid_request_error', code: 'websocket_upgrade_required',
    description: 'GET /v1/responses opens the Responses WebSocket mode and needs a WebSocket handshake; create a response over HTTP with POST /v1/responses.',
  },
  HD_ERR_WEBSOCKET_DISABLED: {
    status: 426, type: 'invalid_request_error', code: 'websocket_disabled',
    description: 'The Responses WebSocket mode is turned off (`server.websocket.enabled: false`); clients such as Codex fall back to HTTP POST /v1/responses.',
  },
  HD_ERR_WEBSOCKET_LIMIT: {
    status: 429, type: 'rate_limit_error', code: 'websocket_limit_reached',
    description: 'The gateway has `server.websocket.max_connections` Responses WebSockets open already; the handshake is refused. `Retry-After` says when to retry (or use HTTP).',
  },
  HD_ERR_WEBSOCKET_BUSY: {
    status: 400, type: 'invalid_request_error', code: 'response_already_in_flight',
    description: 'A `response.create` arrived on a WebSocket while its previous response was still streaming; one response runs at a time per socket.',
  },
  HD_ERR_WEBSOCKET_BAD_EVENT: {
    status: 400, type: 'invalid_request_error', code: 'invalid_websocket_event',
    description: 'A WebSocket message that is not a JSON `response.create` (or `response.processed`) event, or one that asks for `background`, which the WebSocket mode does not run.',
  },
  HD_ERR_MCP_DISABLED: {
    status: 404, type: 'invalid_request_error', code: 'mcp_disabled',
    description: 'The MCP gateway is turned off (`mcp.enabled: false`): `/mcp` and `x-heimdall-mcp` are not served.',
  },
  HD_ERR_MCP_SERVER_UNKNOWN: {
    status: 400, type: 'invalid_request_error', code: 'mcp_server_unknown',
    description: '`x-heimdall-mcp` (or the body\'s `heimdall_mcp`) names an MCP server that is not configured.',
  },
  HD_ERR_MCP_TOOL_NOT_FOUND: {
    status: 404, type: 'invalid_request_error', code: 'mcp_tool_not_found',
    description: 'No MCP tool, prompt or resource has this namespaced name (`server__tool`), or its server is not connected.',
  },
  HD_ERR_MCP_FORBIDDEN: {
    status: 403, type: 'permission_error', code: 'mcp_tool_not_allowed',
    description: 'The virtual key (or its team) may not use this MCP server or tool (`allowed_mcp_servers`, `allowed_mcp_tools`).',
  },
  HD_ERR_MCP_SERVER_UNAVAILABLE: {
    status: 503, type: 'api_error', code: 'mcp_server_unavailable',
    description: 'The upstream MCP server is not connected (starting, failed and waiting to reconnect, or disabled).',
  },
  HD_ERR_MCP_TOOL_TIMEOUT: {
    status: 504, type: 'timeout_error', code: 'mcp_tool_timeout',
    description: 'The MCP tool call took longer than its `tool_timeout_ms`.',
  },
  HD_ERR_MCP_UPSTREAM_ERROR: {
    status: 502, type: 'api_error', code: 'mcp_upstream_error',
    description: 'The upstream MCP server answered the call with a protocol error; its message is carried through.',
  },
  HD_ERR_MCP_OAUTH_FAILED: {
    status: 502, type: 'api_error', code: 'mcp_oauth_failed',
    description: 'The OAuth authorization of an upstream MCP server could not start: its authorization server could not be discovered, refused the client registration, or offers no authorization code flow.',
  },
  HD_ERR_MCP_TOOL_LOOP_LIMIT: {
    status: 504, type: 'timeout_error', code: 'mcp_tool_loop_limit',
    description: 'The server-side tool loop used its turns (`mcp.tool_loop.max_turns`) or its time (`mcp.tool_loop.timeout_ms`) without a final answer.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
