/**
 * No project/component value changes the words of an SSM drain command: random values (quotes, `$()`,
 * backticks, newlines, `;`, globbing, unicode) in random templates, run through real bash and dash
 * (`sh` is dash here, as on Debian and Ubuntu instances), must give exactly the argv the template says.
 * PowerShell is not installed here: its quoting is checked against a model of PowerShell's own rules
 * for '...' strings and `-join [char[]]` (and the output must be pure ASCII), plus the PowerShell run when
 * `pwsh` is on PATH.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { commandTemplateProblems, quotePowerShell, quotePosix, renderCommands, SsmCommandError, type SsmVariables } from '../../src/policy/ssm-command.js';

const NASTY = ["'", '"', '$', '(', ')', '`', ';', '|', '&', '<', '>', '\n', '\t', ' ', '\\', '{', '}', '#', '*', '?', '~', '!', '%', '\r', '\u2019', '\u201C', 'ё', '😀', 'a', '-', '=', '[', ']'];
const nastyString = fc.oneof(
  fc.array(fc.constantFrom(...NASTY), { maxLength: 24 }).map((parts) => parts.join('')),
  fc.string({ unit: 'grapheme', maxLength: 16 }).map((s) => s.replaceAll('\0', '')),
  fc.constantFrom("web; rm -rf /", "$(touch /tmp/ddsrv-pwned)", "`id`", "a'b", "'", "''", "\\", "x\ny", '$HOME', '*', "-n", "--", ''),
);

const VARIABLES = ['instance_id', 'region', 'project', 'component'] as const;
/** A word: safe literal chunks and placeholders glued together (adjacency is where quoting goes wrong). */
const word = fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9=._/:,+@-]{1,6}$/), fc.constantFrom(...VARIABLES.map((v) => `{${v}}`))), { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));
const template = fc.array(word, { minLength: 1, maxLength: 5 });

function expectedWords(words: string[], vars: SsmVariables): string[] {
  return words.map((w) => w.replace(/\{([a-z_]+)\}/g, (_, name: keyof SsmVariables) => vars[name] ?? ''));
}

/**
 * The argv a shell gives the rendered command: printf '%s\0' prints each argument NUL-terminated. stdin
 * is not a socket (bash would then read ~/.bashrc, as under rshd) and the environment is minimal.
 */
function runShell(shell: string, command: string): string[] {
  const out = execFileSync(shell, ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8' } });
  return out.split('\0').slice(0, -1);
}

const varsArb = fc.record({ instance_id: fc.constant('i-0123456789abcdef0'), region: fc.constant('us-east-1'), project: fc.option(nastyString, { nil: null }), component: fc.option(nastyString, { nil: null }) });

for (const shell of ['bash', 'dash']) {
  test(`${shell}: no project/component value changes the command's words`, () => {
    fc.assert(
      fc.property(template, varsArb, (words, vars) => {
        const source = `printf '%s\\0' ${words.join(' ')}`;
        assert.deepEqual(commandTemplateProblems(source, 'AWS-RunShellScript'), []);
        const [rendered] = renderCommands([source], 'AWS-RunShellScript', vars);
        assert.deepEqual(runShell(shell, rendered!), expectedWords(words, vars), rendered);
      }),
      { numRuns: 250 },
    );
  });
}

test('bash: a value stays one word inside "$(...)" too', () => {
  fc.assert(
    fc.property(varsArb, (vars) => {
      const [rendered] = renderCommands(["printf '%s\\0' \"$(printf %s {component})\" $(true) {project}"], 'AWS-RunShellScript', vars);
      const argv = runShell('bash', rendered!);
      assert.equal(argv.length, 2, rendered);
      // $(...) drops trailing newlines of what it prints: that is the shell's rule, not a changed word.
      assert.equal(argv[0], (vars.component ?? '').replace(/\n+$/, ''));
      assert.equal(argv[1], vars.project ?? '');
    }),
    { numRuns: 150 },
  );
});

test('the same values as a script file, the way the agent runs AWS-RunShellScript commands', () => {
  const vars: SsmVariables = { instance_id: 'i-0123456789abcdef0', region: 'us-east-1', project: "p'\n;$(id)", component: 'web; rm -rf /' };
  const lines = renderCommands(["printf '%s\\0' {component}", "printf '%s\\0' x{project}y"], 'AWS-RunShellScript', vars);
  const out = spawnSync('sh', ['-s'], { input: `${lines.join('\n')}\n`, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8' } });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(out.stdout.split('\0').slice(0, -1), ['web; rm -rf /', `xp'\n;$(id)y`]);
});

test('a NUL in a value is refused, never run cut short', () => {
  const vars: SsmVariables = { instance_id: 'i-1', region: 'us-east-1', project: null, component: 'a\0b' };
  assert.throws(() => renderCommands(['echo {component}'], 'AWS-RunShellScript', vars), SsmCommandError);
  assert.throws(() => renderCommands(['Write-Output {component}'], 'AWS-RunPowerShellScript', vars), SsmCommandError);
});

test('quotePosix: single quotes, each quote as \'\\\'\'', () => {
  assert.equal(quotePosix(''), "''");
  assert.equal(quotePosix("a'b"), "'a'\\''b'");
  assert.equal(quotePosix('$(x)'), "'$(x)'");
});

/** PowerShell's reading of what quotePowerShell writes: a '...' string, or -join over [char] codes. */
function powerShellValue(text: string): string {
  const single = /^'((?:[^']|'')*)'$/s.exec(text);
  if (single) return single[1]!.replaceAll("''", "'");
  const joined = /^\(-join \[char\[\]\]\(((?:0x[0-9a-f]{1,4},)*0x[0-9a-f]{1,4})\)\)$/.exec(text);
  if (joined) return String.fromCharCode(...joined[1]!.split(',').map((h) => Number.parseInt(h, 16)));
  throw new Error(`not a form quotePowerShell writes: ${text}`);
}

test('quotePowerShell: pure printable ASCII that PowerShell reads back as the value', () => {
  fc.assert(
    fc.property(fc.oneof(nastyString, fc.string({ unit: 'binary' })), (value) => {
      const quoted = quotePowerShell(value);
      assert.match(quoted, /^[\x20-\x7e]*$/, 'ASCII only: no encoding can turn a byte into a quote');
      if (quoted.startsWith("'")) assert.doesNotMatch(quoted.slice(1, -1).replaceAll("''", ''), /'/, 'every inner quote is doubled');
      assert.equal(powerShellValue(quoted), value);
    }),
    { numRuns: 1000 },
  );
  // The curly quotes that also end a PowerShell string never appear raw.
  assert.equal(quotePowerShell('\u2019; Remove-Item C:\\ \u2018'), '(-join [char[]](0x2019,0x3b,0x20,0x52,0x65,0x6d,0x6f,0x76,0x65,0x2d,0x49,0x74,0x65,0x6d,0x20,0x43,0x3a,0x5c,0x20,0x2018))');
});

const pwsh = spawnSync('pwsh', ['-NoProfile', '-Command', 'exit 0']).status === 0;
test('pwsh: no project/component value changes the command\'s words', { skip: pwsh ? false : 'pwsh is not installed here (the model test above covers the quoting)' }, () => {
  fc.assert(
    fc.property(varsArb, (vars) => {
      const [rendered] = renderCommands(['Write-Output {component} {project}'], 'AWS-RunPowerShellScript', vars);
      const out = execFileSync('pwsh', ['-NoProfile', '-Command', `${rendered} | ForEach-Object { [Console]::Out.Write($_ + [char]0) }`], { encoding: 'utf8' });
      assert.deepEqual(out.split('\0').slice(0, -1), [vars.component ?? '', vars.project ?? '']);
    }),
    { numRuns: 50 },
  );
});
