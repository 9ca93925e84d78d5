/**
 * Where a placeholder may stand in an SSM command. The fuzz: random command text made of shell syntax
 * (quotes, $(), backticks, ${}, arithmetic, comments, newlines) around placeholders; whenever the
 * scanner accepts every placeholder, a hostile value must print what the harmless one printed with the
 * value put in its place, under bash and dash, so an accepted position can never let a value act as code.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { commandTemplateProblems, renderCommands } from '../../src/policy/ssm-command.js';
import { scanPlaceholders } from '../../src/policy/ssm-template-scan.js';

const problems = (command: string, dialect: 'posix' | 'powershell') => scanPlaceholders(command, dialect).map((p) => p.problem);

test('POSIX: accepted where the shell reads code, refused in quotes, arithmetic, backticks, ${}, here-documents', () => {
  for (const ok of ['systemctl stop {component}', 'drain --id={instance_id} --region={region}', 'echo x{project}y', 'echo "$(printf %s {component})"', 'echo $(echo {component})', "echo '{' {component} '}'", 'a && b {component} # {nope}']) {
    assert.deepEqual(problems(ok, 'posix').filter((p) => p !== null), [], ok);
  }
  const refused: [string, RegExp][] = [
    ["echo '{component}'", /'\.\.\.' string/],
    ['echo "{component}"', /"\.\.\." string/],
    ['echo "a $(echo "{component}")"', /"\.\.\." string/],
    ['echo $(( {component} + 1 ))', /arithmetic/],
    ['(( {component} ))', /arithmetic/],
    ['echo "$(( $(echo {component}) ))"', /arithmetic/],
    ['echo `echo {component}`', /`\.\.\.`/],
    ['echo ${x:-{component}}', /\$\{\.\.\.\}/],
    ["echo $'{component}'", /\$'\.\.\.' string/],
    ['cat <<EOF\n{component}\nEOF', /here-document/],
    // Found by the dash fuzz below (seed 1270168911): bash reads $'' as an empty string, dash as a $ and ''.
    ["$''{project}'\\$'\"\"", /bash and sh read differently/],
    ["# don't\necho 'x {component}'", /'\.\.\.' string/],
  ];
  for (const [command, why] of refused) assert.match(String(problems(command, 'posix')[0]), why, command);
  assert.deepEqual(scanPlaceholders('echo \\{component} ${HOME} {a,b} {}', 'posix'), [], 'escaped, ${var}, brace expansion and {} are no placeholders');
  // Found by the fuzz: with a newline in the value, bash read the command's final backslash differently.
  assert.deepEqual(commandTemplateProblems('echo {component} \\', 'AWS-RunShellScript'), ['ends with a backslash, which would join it to the next command']);
  assert.deepEqual(commandTemplateProblems('echo {component} \\\\', 'AWS-RunShellScript'), [], 'an escaped backslash is a character');
  assert.deepEqual(commandTemplateProblems('Write-Output {component} `', 'AWS-RunPowerShellScript'), ['ends with a backtick, which would join it to the next command']);
});

test('PowerShell: standing alone outside strings; refused in strings, glued to text, after --%', () => {
  for (const ok of ['Stop-Service -Name {component}', 'Write-Output {component}, {project}', '$c = {component}; Stop-It $c', 'Get-Thing -Name:{component} | Out-Null', 'Invoke-Drain ({component})', "Write-Output '{' {component} # '{nope}'"]) {
    assert.deepEqual(problems(ok, 'powershell').filter((p) => p !== null), [], ok);
  }
  const refused: [string, RegExp][] = [
    ["Write-Output '{component}'", /'\.\.\.' string/],
    ['Write-Output \u2018{component}\u2019', /'\.\.\.' string/],
    ['Write-Output "{component}"', /"\.\.\." string/],
    ['Write-Output "$(Get-X {component})"', /"\.\.\." string/],
    ['Write-Output shop-{component}', /stand alone/],
    ['Write-Output {component}.service', /stand alone/],
    ['cmd /c --% echo {component}', /--%/],
    ["@'\n{component}\n'@", /'\.\.\.' string/],
  ];
  for (const [command, why] of refused) assert.match(String(problems(command, 'powershell')[0]), why, command);
});

const SYNTAX = ['"', "'", '$(', ')', '`', '${', '}', '((', '))', '$((', ' ', ' ', 'a', 'b=', '\\', '#', '\n', ';', '{component}', '{component}', '{project}', '$x', "$'", '<<', '|'];
const HOSTILE = ["'; echo INJECTED; '", '$(echo INJECTED)', '`echo INJECTED`', '" ; echo INJECTED #', "a b\nc", '))$(echo INJECTED)((', '${IFS}INJECTED', '\\', '*'];

function shell(name: string, script: string): { status: number | null; out: string } {
  try {
    const out = execFileSync(name, ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000, cwd: '/tmp', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8', x: 'X' } });
    return { status: 0, out };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string };
    return { status: e.status, out: e.stdout ?? '' };
  }
}

for (const sh of ['bash', 'dash']) {
  test(`fuzz: an accepted placeholder never lets a value act as code (${sh})`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SYNTAX), { minLength: 1, maxLength: 14 }), fc.constantFrom(...HOSTILE), (parts, hostile) => {
        const command = `printf '[%s]' ${parts.join('')}`;
        const found = scanPlaceholders(command, 'posix');
        fc.pre(found.length > 0 && found.every((p) => p.name === 'component' || p.name === 'project') && commandTemplateProblems(command, 'AWS-RunShellScript').length === 0);
        accepted += 1;
        const run = (value: string) => shell(sh, renderCommands([command], 'AWS-RunShellScript', { instance_id: 'i-1', region: 'r', project: value, component: value })[0]!);
        const harmless = run('HARMLESS');
        const attacked = run(hostile);
        assert.equal(attacked.status, harmless.status, `${command} with ${JSON.stringify(hostile)}`);
        // Map the harmless run forward (HARMLESS -> the value): mapping the value back would also rewrite
        // the command's own text where it equals the value (its escaped backslash, when the value is one).
        assert.equal(attacked.out, harmless.out.split('HARMLESS').join(hostile), `${command} with ${JSON.stringify(hostile)}`);
        assert.doesNotMatch(attacked.out.replaceAll(hostile, ''), /INJECTED/, command);
      }),
      // examples: counterexamples found before, checked on every run.
      { numRuns: 300, maxSkipsPerRun: 1000, examples: [[['\\', '\\', '{component}'], '\\']] },
    );
    assert.ok(accepted >= 300, `the fuzz ran on ${accepted} accepted commands`);
  });
}
