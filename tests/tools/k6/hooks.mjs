// Module resolution hooks (node:module register): the k6 modules poolcalc's scripts import.
// Any other k6 module fails, so a script that starts importing one is noticed here.
const STUBS = {
  k6: 'k6.mjs',
  'k6/http': 'http.mjs',
  'k6/execution': 'execution.mjs',
};

export async function resolve(specifier, context, next) {
  if (Object.hasOwn(STUBS, specifier)) {
    return { url: new URL(`./stubs/${STUBS[specifier]}`, import.meta.url).href, shortCircuit: true };
  }
  if (specifier === 'k6' || specifier.startsWith('k6/')) {
    throw new Error(`the script imports ${specifier}, which the checks have no stub for`);
  }
  return next(specifier, context);
}
