/**
 * The Azure OpenAI wire format of the mock upstream (register with
 * `registerAzureRoutes(mock, options)`): the OpenAI replies of openai.ts behind
 * per-deployment URLs.
 *
 * POST /openai/deployments/{deployment}/{chat/completions | completions | embeddings}?api-version=...
 *   - `api-version` query required (400 MissingApiVersionParameter);
 *   - `api-key` header, or `Authorization: Bearer <Entra token>` (401 without one, or for 'bad-key');
 *   - the deployment must be one of `options.deployments` (when given; 404 DeploymentNotFound);
 *   - replies as openai.ts, with `model` set to the deployment's model and Azure's content-filter
 *     annotations: `prompt_filter_results` on the reply, `content_filter_results` on each choice, and
 *     in a stream a first chunk with `choices: []` and `prompt_filter_results` (as Azure sends it).
 * /openai/files[/...] and /openai/batches[/...]?api-version=...: Azure's Files and Batch APIs (openai-files.ts),
 *   refused as above without api-version or key; a batch's lines name deployments (model_not_found otherwise).
 * POST /openai/v1/responses (the v1 API: no api-version): `api-key` or Bearer as above, then the
 *   Responses replies of openai-responses.ts.
 * Errors: `{error:{code, message}}` (azureErrorBody).
 *
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/reference
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-filter
 */
import { azureMediaHandlers } from './openai-media.js';
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import type { RouteHandler } from './index.js';
import { chatCompletions, legacyCompletions } from './openai-chat.js';
import { isRecord } from './openai-common.js';
import { embeddings } from './openai-embeddings.js';
import { azureFiles, registerFileRoutes } from './openai-files.js';
import { responses } from './openai-responses.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

export interface AzureMockOptions {
  /** Deployment name -> the model it runs. Default: any deployment, named like its model. */
  deployments?: Readonly<Record<string, string>>;
}

export function azureErrorBody(code: string, message: string): Record<string, unknown> {
  return { error: { code, message } };
}

const SAFE = { filtered: false, severity: 'safe' } as const;
const CONTENT_FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER_RESULTS = [{ prompt_index: 0, content_filter_results: CONTENT_FILTER_RESULTS }];

/**
 * A context whose replies carry Azure's annotations: the OpenAI handler writes
 * through it unchanged, and the annotations are added on the way out.
 */
function azureContext(context: MockContext, model: string): MockContext {
  return {
    ...context,
    json(status, body, headers) {
      if (status === 200 && isRecord(body) && Array.isArray(body.choices)) {
        const choices = body.choices.map((choice) => (isRecord(choice) ? { ...choice, content_filter_results: CONTENT_FILTER_RESULTS } : choice));
        return context.json(status, { ...body, model, choices, prompt_filter_results: PROMPT_FILTER_RESULTS }, headers);
      }
      return context.json(status, isRecord(body) && body.object === 'list' ? { ...body, model } : body, headers);
    },
    stream(events, options) {
      const first = formatSse(JSON.stringify({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: PROMPT_FILTER_RESULTS }));
      const rewritten = events.map((event) => {
        if (typeof event !== 'string' || !event.startsWith('data: {')) return event;
        const chunk = JSON.parse(event.slice(6)) as Record<string, unknown>;
        return formatSse(JSON.stringify({ ...chunk, model }));
      });
      return context.stream([first, ...rewritten], options);
    },
  };
}

/** What Azure refuses of any dated-API call: no api-version, no key (or a bad one). */
function refuseCall(context: MockContext): Promise<void> | undefined {
  const headers = context.request.headers;
  if (!context.request.query.get('api-version')) {
    return context.json(400, azureErrorBody('MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'));
  }
  const key = headers['api-key'];
  const bearer = headers.authorization?.startsWith('Bearer ') ? headers.authorization.slice(7) : undefined;
  if ((key === undefined && bearer === undefined) || key === 'bad-key' || bearer === 'bad-key') {
    const message = 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';
    return context.json(401, azureErrorBody('401', message));
  }
  return undefined;
}

function refuse(context: MockContext, deployments: AzureMockOptions['deployments']): Promise<void> | undefined {
  const refused = refuseCall(context);
  if (refused) return refused;
  const deployment = decodeURIComponent(context.match[1]);
  if (deployments !== undefined && deployments[deployment] === undefined) {
    return context.json(404, azureErrorBody('DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.'));
  }
  return undefined;
}

export function registerAzureRoutes(target: RouteTarget, options: AzureMockOptions = {}): void {
  const handlers: Record<string, RouteHandler> = {
    'chat/completions': chatCompletions,
    completions: legacyCompletions,
    embeddings,
  };
  target.route('POST', /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/, (context) => {
    const refused = refuse(context, options.deployments);
    if (refused) return refused;
    const deployment = decodeURIComponent(context.match[1]);
    const model = options.deployments?.[deployment] ?? deployment;
    // Azure takes the model from the deployment; the OpenAI handler wants it in the body.
    const body = context.request.body;
    if (isRecord(body) && typeof body.model !== 'string') body.model = model;
    return handlers[context.match[2]](azureContext(context, model));
  });
  // Images and audio under a deployment (openai-media.ts); the deployment names the model.
  target.route('POST', /^\/openai\/deployments\/([^/]+)\/(images\/generations|images\/edits|audio\/speech|audio\/transcriptions|audio\/translations)$/, (context) => {
    const refused = refuse(context, options.deployments);
    if (refused) return refused;
    const deployment = decodeURIComponent(context.match[1]);
    return azureMediaHandlers[context.match[2]](context, options.deployments?.[deployment] ?? deployment);
  });
  // Files and batches (openai-files.ts): no deployment in the path; a batch's lines name deployments.
  registerFileRoutes(target, (handler) => (context) => refuseCall(context) ?? handler(context), azureFiles(options.deployments, azureErrorBody));
  // The v1 API's Responses route: no api-version, the deployment named in the body's model.
  target.route('POST', /^\/openai\/v1\/responses$/, (context) => {
    const key = context.request.headers['api-key'];
    const bearer = context.request.headers.authorization?.startsWith('Bearer ') ? context.request.headers.authorization.slice(7) : undefined;
    if ((key === undefined && bearer === undefined) || key === 'bad-key' || bearer === 'bad-key') {
      return context.json(401, azureErrorBody('401', 'Access denied due to invalid subscription key or wrong API endpoint.'));
    }
    return responses(context);
  });
}
