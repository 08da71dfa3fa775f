// k6/http's get, recorded; the response a test wants comes from globalThis.k6Response.
export function get(url, params) {
  globalThis.k6Calls.push({ get: url, params });
  return globalThis.k6Response ?? { status: 200 };
}
export default { get };
