// k6/execution's scenario.startTime: milliseconds since the epoch when the scenario started (the
// check sets it to put the script at a chosen moment of the test).
export default {
  get scenario() {
    return { startTime: globalThis.k6StartTime };
  },
};
