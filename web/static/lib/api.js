// The REST API from the browser: JSON calls and raw-body uploads, with the session's CSRF token
// (from <meta name="csrf-token">) on every state-changing request.

/** The page's CSRF token. */
export const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

/** A non-2xx answer: `status` and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Call the REST API; throws ApiError with the server's message on a non-2xx answer. */
export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !["login", "setup"].includes(document.body.dataset.page)) {
    location.assign("/login");
    throw new ApiError(401, "session ended; log in again");
  }
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const why = data &&
      (data.error || (data.outcome && `${data.outcome}${data.detail ? `: ${data.detail}` : ""}`));
    throw new ApiError(res.status, why || `HTTP ${res.status}`);
  }
  return data;
}

/**
 * POST a file as the raw body (not a form), so the server can check and stream it: sounds,
 * backups. Resolves to the JSON answer; throws ApiError on a non-2xx answer.
 */
export async function upload(path, file, contentType, method = "POST") {
  const res = await fetch(path, {
    method,
    headers: { "content-type": contentType, "x-csrf-token": csrf, accept: "application/json" },
    credentials: "same-origin",
    body: file,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data.error || `HTTP ${res.status}`);
  return data;
}
