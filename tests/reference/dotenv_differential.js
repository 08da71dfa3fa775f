#!/usr/bin/env node
// poolcalc's .env parser against the dotenv npm package itself, on generated files.
//
// poolcalc reads a .env file as dotenv does, but refuses what dotenv would silently skip. This
// generates files (seeded: the same files every run) mixing every form the parser knows --
// export, blanks and Unicode spaces, the three quotes, backslashes before quotes, multi-line
// values, inline comments, CRLF, no final newline -- and checks that for each file poolcalc
// either refuses it or reads exactly the keys and values dotenv.parse() reads.
//
// Needs node and dotenv (not a dependency of poolcalc, so not part of ctest):
//   cmake --build build --target poolcalc_dotenv_dump
//   (cd /tmp && npm install dotenv) && NODE_PATH=/tmp/node_modules node tests/reference/dotenv_differential.js build/tests/poolcalc_dotenv_dump
// Prints {agree, refused, differ} and exits 1 when any file is read differently.
'use strict';
const dotenv = require('dotenv');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const dump = process.argv[2] || 'build/tests/poolcalc_dotenv_dump';
let seed = 12345;
function rnd(n) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
const pieces = ['\u00a0', '\u3000', '\ufeff', '\\"', "\\'", 'a', 'Z', '0', '_', '-', '.', '/', ':', '@', '%', '+', ',', '=',
                '?', '&', '$', '{', '}', ' ', '\t', "'", '"', '`', '\\', '#', ';', 'é', '€', '🐘', '\\n', 'x y'];
function text(avoid, max) {
  let s = '';
  const length = rnd(max + 1);
  while (s.length < length) {
    const p = pieces[rnd(pieces.length)];
    if (![...avoid].some((c) => p.includes(c))) {
      s += p;
    }
  }
  return s;
}
function blanks(max) {
  let s = '';
  for (let i = rnd(max + 1); i > 0; --i) {
    s += rnd(3) ? ' ' : '\t';
  }
  return s;
}
const keys = ['A', 'B_2', 'my.key', 'a-b', 'export', 'DATABASE_URL'];
function line(eol) {
  const kind = rnd(10);
  if (kind < 1) {
    return blanks(2) + eol;
  }
  if (kind < 2) {
    return blanks(2) + '#' + text('\r\n', 20) + eol;
  }
  let s = blanks(2) + (rnd(4) === 0 ? 'export' + (rnd(2) ? ' ' : '\t') + blanks(1) : '') + keys[rnd(keys.length)] + blanks(1) + '=' + blanks(1);
  const style = rnd(5);
  if (style === 0) {
    s += text('\r\n', 20);
  } else {
    const q = style === 1 ? "'" : style === 2 ? '`' : '"';
    let v = text(q + '\r\n', 20);
    if (rnd(6) === 0) {
      v += eol + text(q + '\r\n', 10);
    }
    s += q + v + q;
    if (rnd(4) === 0) {
      s += blanks(2) + '#' + text('\r\n', 10);
    } else if (rnd(8) === 0) {
      s += text('\r\n', 5);
    }
  }
  return s + eol;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poolcalc-dotenv-'));
const files = [];
for (let i = 0; i < 3000; i++) {
  const eol = rnd(2) ? '\n' : '\r\n';
  let t = '';
  for (let n = rnd(12); n > 0; n--) {
    t += line(eol);
  }
  if (rnd(4) === 0) {
    t = t.replace(/\r?\n$/, '');
  }
  const file = path.join(dir, `${i}.env`);
  fs.writeFileSync(file, t);
  files.push(file);
}
const out = execFileSync(dump, files, { maxBuffer: 1 << 28 }).toString().trim().split('\n');
let agree = 0;
let refused = 0;
let differ = 0;
for (let i = 0; i < files.length; i++) {
  const ours = JSON.parse(out[i]);
  if (ours.error) {
    refused++;
    continue;
  }
  const theirs = dotenv.parse(fs.readFileSync(files[i]));
  const keysOurs = Object.keys(ours.values).sort();
  const keysTheirs = Object.keys(theirs).sort();
  const same = JSON.stringify(keysOurs) === JSON.stringify(keysTheirs) && keysOurs.every((k) => ours.values[k] === theirs[k]);
  if (same) {
    agree++;
  } else {
    differ++;
    console.log('differs:', JSON.stringify(fs.readFileSync(files[i], 'utf8')));
    for (const k of new Set([...keysOurs, ...keysTheirs])) {
      if (ours.values[k] !== theirs[k]) {
        console.log('  ', k, 'poolcalc', JSON.stringify(ours.values[k]), 'dotenv', JSON.stringify(theirs[k]));
      }
    }
  }
}
fs.rmSync(dir, { recursive: true });
console.log({ dotenv: require('dotenv/package.json').version, agree, refused, differ });
process.exit(differ === 0 ? 0 : 1);
