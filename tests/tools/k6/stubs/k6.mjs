// k6's `sleep(seconds)`, recorded.
export function sleep(seconds) {
  globalThis.k6Calls.push({ sleep: seconds });
}
export default { sleep };
