// custos dashboard - the one way to the REST API: api(method, path, body)
// with the session's cookie; a non-2xx answer is thrown as an ApiError with
// the server's message, field and body.


export class ApiError extends Error {
  constructor(status, msg, field, body) { super(msg); this.status = status; this.field = field; this.body = body; }
}

export async function api(method, path, body) {
  const opt = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") opt.headers["Content-Type"] = "application/json";
  if (body !== undefined) opt.body = JSON.stringify(body);
  const r = await fetch(path, opt);
  let j = null;
  const text = await r.text();
  if (text) { try { j = JSON.parse(text); } catch (e) { j = null; } }
  if (!r.ok) throw new ApiError(r.status, (j && j.error) || ("HTTP " + r.status),
    j && typeof j.field === "string" ? j.field : undefined, j);
  return j;
}
