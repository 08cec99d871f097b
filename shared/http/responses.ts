/** What a handler returns: a status and a JSON body; the middy stack adds the headers. */
export interface ApiResult {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const ok = (body: unknown): ApiResult => ({ statusCode: 200, body });
export const created = (body: unknown): ApiResult => ({ statusCode: 201, body });
export const accepted = (body: unknown): ApiResult => ({ statusCode: 202, body });
/** Done, nothing to show (a delete). */
export const noContent = (): ApiResult => ({ statusCode: 204, body: undefined });
