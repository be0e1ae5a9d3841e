/** The /v1 API as the explorer calls it: the API key (if the server asks for one) on every request. */
const KEY_STORE = 'cohortlab-key';

export class NeedsKey extends Error {}

export function apiKey(): string {
  return sessionStorage.getItem(KEY_STORE) ?? '';
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(KEY_STORE, key);
}

export async function api(path: string): Promise<Response> {
  const key = apiKey();
  const res = await fetch(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  if (res.status === 401) throw new NeedsKey('an API key is required');
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `${res.status} on ${path}`);
  }
  return res;
}

/** The JSON answer of a route, typed by the caller with the route's response type (src/serve/response-types.ts). */
export async function json<T>(path: string): Promise<T> {
  return (await (await api(path)).json()) as T;
}
