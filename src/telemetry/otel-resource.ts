/**
 * The OpenTelemetry resource every exported span and metric carries:
 * service.name (OTEL_SERVICE_NAME or config), service.version, the
 * configured and OTEL_RESOURCE_ATTRIBUTES attributes, and the SDK's own
 * telemetry.sdk.* attributes. Loaded only when tracing or OTLP metrics are on.
 * @see https://opentelemetry.io/docs/specs/semconv/resource/#service
 */
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { VERSION } from '../version.js';
import type { TelemetryConfig } from './settings.js';

export function buildResource(settings: TelemetryConfig): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      'service.version': VERSION,
      ...settings.resourceAttributes,
      'service.name': settings.serviceName,
    }),
  );
}
