/** A library call that failed: the status and the error body in the API's own format, as the HTTP route answers them. */
export class HeimdallError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string | string[] | undefined>,
  ) {
    super(HeimdallError.messageOf(status, body));
    this.name = 'HeimdallError';
  }

  /** The error's code (OpenAI `error.code`, Anthropic `error.type`), when the body has one. */
  get code(): string | undefined {
    const error = (this.body as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
    return typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : undefined;
  }

  private static messageOf(status: number, body: unknown): string {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    return typeof message === 'string' ? `${status}: ${message}` : `${status}: request failed`;
  }
}
