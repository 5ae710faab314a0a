// bench/peers/provider.mjs - the example provider again, this time defined
// with ComputeSDK's own defineProvider (@computesdk/provider), so the
// peer benchmark times ComputeSDK's sandbox wrapper around the same work
// csdk's example plugin does: sandboxes held in memory, commands answered
// by a tiny built-in interpreter (no process is started).
//
// Per runCommand it does what plugins/example/example.c does per
// run_command: find the sandbox, normalise the working directory, split
// the command line, run the built-in, and report exit code, output and
// duration.
import { defineProvider } from '@computesdk/provider';

const WORKDIR = '/workspace';

// "/a/./b//c/" -> "/a/b/c"; relative paths are taken from `base`.  ".."
// is refused, as the example plugin does.
function normalisePath(base, path) {
  const full = path.startsWith('/') ? path : `${base}/${path}`;
  const parts = [];
  for (const p of full.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new Error(`path '${path}' has a '..' component`);
    parts.push(p);
  }
  return `/${parts.join('/')}`;
}

// Split a simple command line into words: whitespace separates, single
// and double quotes group.  Operators are not supported (one command).
function splitWords(line) {
  const words = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = '';
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) return null;
  if (inWord) words.push(word);
  return words;
}

const builtins = {
  true: () => ({ exitCode: 0, stdout: '' }),
  false: () => ({ exitCode: 1, stdout: '' }),
  echo: (args) => ({ exitCode: 0, stdout: `${args.join(' ')}\n` }),
  pwd: (_args, cwd) => ({ exitCode: 0, stdout: `${cwd}\n` }),
  exit: (args) => ({ exitCode: args.length ? Number(args[0]) & 255 : 0, stdout: '' }),
};

let nextId = 1;
const sandboxes = new Map();

// The methods, as defineProvider takes them (exported too, so the
// benchmark can also call runCommand without ComputeSDK's wrapper).
export const memoryMethods = {
  create: async (_config, options) => {
    const sandbox = {
      id: `ex-${nextId++}`,
      runtime: options?.runtime ?? 'python',
      createdAt: new Date(),
      timeout: options?.timeout ?? 0,
    };
    sandboxes.set(sandbox.id, sandbox);
    return { sandbox, sandboxId: sandbox.id };
  },
  getById: async (_config, sandboxId) => {
    const sandbox = sandboxes.get(sandboxId);
    return sandbox ? { sandbox, sandboxId } : null;
  },
  list: async () =>
    [...sandboxes.values()].map((sandbox) => ({ sandbox, sandboxId: sandbox.id })),
  destroy: async (_config, sandboxId) => {
    sandboxes.delete(sandboxId);
  },
  runCommand: async (sandbox, command, options) => {
    const start = Date.now();
    if (!sandboxes.has(sandbox.id)) {
      throw new Error(`no sandbox '${sandbox.id}' in provider 'memory'`);
    }
    const cwd = normalisePath(WORKDIR, options?.cwd || WORKDIR);
    const words = splitWords(command);
    if (words === null) {
      return {
        stdout: '',
        stderr: 'sh: 1: Syntax error: Unterminated quoted string\n',
        exitCode: 2,
        durationMs: Date.now() - start,
      };
    }
    if (words.length === 0) {
      return { stdout: '', stderr: '', exitCode: 0, durationMs: Date.now() - start };
    }
    const builtin = Object.hasOwn(builtins, words[0]) ? builtins[words[0]] : undefined;
    if (!builtin) {
      return {
        stdout: '',
        stderr: `sh: 1: ${words[0]}: not found\n`,
        exitCode: 127,
        durationMs: Date.now() - start,
      };
    }
    const r = builtin(words.slice(1), cwd);
    return { stdout: r.stdout, stderr: '', exitCode: r.exitCode, durationMs: Date.now() - start };
  },
  getInfo: async (sandbox) => ({
    id: sandbox.id,
    provider: 'memory',
    runtime: sandbox.runtime,
    status: 'running',
    createdAt: sandbox.createdAt,
    timeout: sandbox.timeout,
  }),
  getUrl: async (sandbox, options) => {
    throw new Error(
      `sandbox '${sandbox.id}' lives in memory and serves nothing on port ${options.port}`,
    );
  },
};

export const memoryProvider = defineProvider({
  name: 'memory',
  defaultMode: 'direct',
  methods: { sandbox: memoryMethods },
});
