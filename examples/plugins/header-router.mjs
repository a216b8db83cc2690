/**
 * Header-based router: a request carrying a header is sent to another model.
 *
 *   "plugins": [{ "path": "./examples/plugins/header-router.mjs",
 *                 "options": { "header": "x-route", "routes": { "cheap": "openai/gpt-4o-mini", "smart": "anthropic/claude-sonnet-4-5" } } }]
 *
 * `x-route: cheap` sends the request to openai/gpt-4o-mini, whatever model it named. A value
 * not in `routes` is refused with a 400 (or ignored with "unknown": "ignore"). It runs before
 * governance, so a virtual key's model rules, rate limits and budget apply to the new model.
 * @param {{ header?: string, routes?: Record<string, string>, unknown?: 'refuse' | 'ignore' }} options
 * @returns {import('heimdall-gateway').Plugin}
 */
export default function headerRouter(options = {}) {
  const header = (options.header ?? 'x-route').toLowerCase();
  const routes = options.routes ?? {};
  const unknown = options.unknown ?? 'refuse';
  if (typeof routes !== 'object' || Object.values(routes).some((model) => typeof model !== 'string' || model === '')) {
    throw new Error('header-router: "routes" maps header values to model names');
  }
  return {
    name: 'header-router',
    before: ['governance'],
    beforeRouting(request, routing) {
      const value = request.headers[header];
      if (typeof value !== 'string' || value === '') return;
      const model = routes[value];
      if (model !== undefined) {
        routing.model = model;
        request.setResponseHeader('x-heimdall-routed-by', `${header}: ${value}`);
        return;
      }
      if (unknown === 'refuse') {
        throw Object.assign(new Error(`${header}: "${value}" is not a known route (${Object.keys(routes).join(', ') || 'none configured'}).`), { refusal: true, status: 400 });
      }
    },
  };
}
