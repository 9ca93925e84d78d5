import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describePolicy, policyText } from '../../src/policy/describe.js';
import { parsePolicy, PolicyError } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';

const FILE = `
defaults:
  drain:
    ssm:
      commands: ["systemctl stop shop-{component}", "/opt/shop/bin/drain --wait --id={instance_id}"]
components:
  batch:
    drain:
      ssm: null
  win:
    drain:
      ssm:
        commands: ["Stop-Service -Name {component}"]
        document: AWS-RunPowerShellScript
        timeout: 2m
        on_failure: stop
`;

test('drain.ssm resolves per default and component, with its defaults; null turns it off', () => {
  const policy = new Policy(parsePolicy(FILE), 10_000);
  assert.deepEqual(policy.resolve(null, 'web').drain.ssm, {
    commands: ['systemctl stop shop-{component}', '/opt/shop/bin/drain --wait --id={instance_id}'],
    document: 'AWS-RunShellScript',
    timeoutMs: 600_000,
    onFailure: 'continue',
  });
  assert.equal(policy.resolve(null, 'batch').drain.ssm, undefined);
  assert.deepEqual(policy.resolve('any', 'win').drain.ssm, { commands: ['Stop-Service -Name {component}'], document: 'AWS-RunPowerShellScript', timeoutMs: 120_000, onFailure: 'stop' });
  assert.equal(new Policy(parsePolicy(''), 0).resolve(null, null).drain.ssm, undefined, 'none unless configured');
});

test('check-config prints the SSM drain of each component', () => {
  const policy = new Policy(parsePolicy(FILE), 10_000);
  const d = describePolicy(policy, 'p.yaml', 10_000);
  assert.deepEqual(d.components.win!.drain.ssm, { commands: ['Stop-Service -Name {component}'], document: 'AWS-RunPowerShellScript', timeout: '2m', on_failure: 'stop' });
  assert.equal(d.components.batch!.drain.ssm, null);
  const text = policyText(d);
  assert.match(text, /^ {2}defaults \(every other component\):\n(?: {4}.*\n)*? {4}ssm: {4}AWS-RunShellScript \(timeout 10m, on failure: continue\):\n {14}"systemctl stop shop-\{component\}"\n {14}"\/opt\/shop\/bin\/drain --wait --id=\{instance_id\}"$/m);
  assert.match(text, /^ {2}batch:\n(?: {4}.*\n)*? {4}ssm: {4}none$/m);
});

function fails(text: string, message: RegExp) {
  assert.throws(() => parsePolicy(text, 'p.yaml'), (err: unknown) => err instanceof PolicyError && message.test(err.message), text);
}
const ssm = (body: string) => `defaults:\n  drain:\n    ssm:\n${body.replace(/^/gm, '      ')}\n`;

test('drain.ssm is validated strictly, naming the key', () => {
  fails(ssm('commands: []'), /p\.yaml:4: defaults\.drain\.ssm\.commands: must list at least one command/);
  fails(ssm('document: AWS-RunShellScript'), /defaults\.drain\.ssm\.commands: is required: the commands to run on the instance/);
  fails(ssm('commands: ["ok", "  "]'), /defaults\.drain\.ssm\.commands\.1: must not be empty/);
  fails(ssm('commands: "systemctl stop web"'), /p\.yaml:4: defaults\.drain\.ssm\.commands: must be a list of command strings/);
  fails(ssm('commands: [1]'), /defaults\.drain\.ssm\.commands\.0: must be a string/);
  fails(ssm('commands: [x]\nshell: bash'), /p\.yaml:5: defaults\.drain\.ssm\.shell: unknown key \(allowed here: commands, document, timeout, on_failure\)/);
  fails(ssm('commands: [x]\ndocument: AWS-RunRemoteScript'), /defaults\.drain\.ssm\.document: .*"AWS-RunShellScript"\|"AWS-RunPowerShellScript"; got "AWS-RunRemoteScript"/);
  fails(ssm('commands: [x]\non_failure: retry'), /defaults\.drain\.ssm\.on_failure: .*got "retry"/);
  fails('defaults:\n  drain:\n    sms: {}\n', /defaults\.drain\.sms: unknown key \(allowed here: load_balancers, timeout, hook, ssm\)/);
});

test('the timeout is one SSM accepts: whole seconds from 30s to 48h', () => {
  for (const ok of ['30s', '10m', '48h', '172800']) assert.doesNotThrow(() => parsePolicy(ssm(`commands: [x]\ntimeout: ${ok}`)), ok);
  fails(ssm('commands: [x]\ntimeout: 29s'), /defaults\.drain\.ssm\.timeout: 29s is not an SSM command timeout: whole seconds from 30s to 48h/);
  fails(ssm('commands: [x]\ntimeout: 48h1s'), /is not an SSM command timeout/);
  fails(ssm('commands: [x]\ntimeout: 90500ms'), /1m30s500ms is not an SSM command timeout/);
  fails(ssm('commands: [x]\ntimeout: soon'), /defaults\.drain\.ssm\.timeout: 'soon' is not a duration/);
});

test('templates: unknown variables and {private_ip} refused at load time, and values only where quoting is safe', () => {
  fails(ssm('commands: ["drain {ip}"]'), /defaults\.drain\.ssm\.commands\.0: unknown template variable \{ip\}; use \{instance_id\}, \{region\}, \{project\}, \{component\}/);
  fails(ssm('commands: ["curl {private_ip}"]'), /commands\.0: \{private_ip\} is not available in SSM commands/);
  fails(ssm(`commands: ["echo '{component}'"]`), /commands\.0: \{component\} is inside a '\.\.\.' string; write it outside quotes/);
  fails(ssm('commands: ["Stop-Service -Name shop-{component}"]\ndocument: AWS-RunPowerShellScript'), /commands\.0: \{component\} must stand alone/);
  // The same text is fine for the shell it is not meant for: the document decides.
  assert.doesNotThrow(() => parsePolicy(ssm('commands: ["systemctl stop shop-{component}"]')));
  // Shell syntax that only looks like a placeholder is left alone.
  assert.doesNotThrow(() => parsePolicy(ssm(`commands: ["awk '{print $1}' /etc/hosts", "echo \${HOME} {a,b}"]`)));
});
