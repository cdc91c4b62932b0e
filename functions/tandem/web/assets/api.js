// Calls to the Tandem API from the page: same origin, the key in `x-api-key`, errors made readable.

const KEY_NAME = "tandem.apiKey";

// The key lives in this tab's sessionStorage only: gone when the tab closes, never in localStorage or a cookie.
export const keyStore = {
  get: () => sessionStorage.getItem(KEY_NAME),
  set: (key) => sessionStorage.setItem(KEY_NAME, key),
  forget: () => sessionStorage.removeItem(KEY_NAME),
};

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  // One line a person can act on: the API's message, then which field and why.
  readable() {
    const where = this.details
      .map((d) => {
        const field = (d.loc || []).filter((p) => p !== "query" && p !== "body").join(".");
        const why = `${d.msg}`.replace(/^Value error, /, "");
        return field ? `${field}: ${why}` : why;
      })
      .join("; ");
    const status = this.status ? ` (HTTP ${this.status})` : "";
    return `${this.message}${where ? ` — ${where}` : ""}${status}`;
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && `${value}`.trim() !== "") search.set(name, `${value}`.trim());
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// GET or POST a path of this API; the answer's JSON with its status, or an ApiError.
export async function call(method, path, { body, headers = {} } = {}) {
  const key = keyStore.get();
  const sent = { Accept: "application/json", ...headers };
  if (key) sent["x-api-key"] = key;
  if (body !== undefined) sent["content-type"] = "application/json";
  let answer;
  try {
    answer = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new ApiError(0, "network_error", `The API could not be reached (${error.message})`);
  }
  let payload = null;
  const text = await answer.text();
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (!answer.ok) {
    const message = payload?.message || `The API answered ${answer.status} ${answer.statusText}`.trim();
    throw new ApiError(answer.status, payload?.error || "http_error", message, payload?.details || []);
  }
  return { status: answer.status, body: payload, headers: answer.headers };
}
