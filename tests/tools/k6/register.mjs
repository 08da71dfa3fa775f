// node --import ./register.mjs: k6's modules resolve to the stubs in ./stubs, which record what a
// script asks of k6 (requests, sleeps) so check_script.mjs can run its default function.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
