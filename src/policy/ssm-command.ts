/**
 * The SSM drain's commands from their templates: `{instance_id}`, `{region}`, `{project}`, `{component}`
 * become one quoted word each, for the shell the document runs (AWS-RunShellScript: POSIX sh;
 * AWS-RunPowerShellScript: PowerShell), so no value can add, split or run anything: a component named
 * `web; rm -rf /` stays one word. Where a value could not stay one word (inside quotes, arithmetic; see
 * ssm-template-scan.ts) the policy is refused at load time. `{private_ip}` is not offered: the command
 * runs on the instance itself. Pure.
 *
 * What the command then does with its words is its author's: `eval {component}`, `sh -c {component}` or
 * `cmd /c {component}` make a value code again.
 */
import { scanPlaceholders, type ShellDialect } from './ssm-template-scan.js';

export const SSM_DOCUMENTS = ['AWS-RunShellScript', 'AWS-RunPowerShellScript'] as const;
export type SsmDocument = (typeof SSM_DOCUMENTS)[number];

export const SSM_TEMPLATE_VARIABLES = ['instance_id', 'region', 'project', 'component'] as const;
export type SsmVariables = Record<(typeof SSM_TEMPLATE_VARIABLES)[number], string | null>;

export class SsmCommandError extends Error {}

export function dialectOf(document: SsmDocument): ShellDialect {
  return document === 'AWS-RunPowerShellScript' ? 'powershell' : 'posix';
}

/** What is wrong with one command template (empty when it is usable), for the policy's validation. */
export function commandTemplateProblems(command: string, document: SsmDocument): string[] {
  const problems: string[] = [];
  // The agent runs the commands as the lines of one script: a line continuation at the end would join
  // this command to the next one (and a value with a newline would change how it is read).
  const continuation = dialectOf(document) === 'posix' ? /(^|[^\\])(\\\\)*\\$/ : /(^|[^`])(``)*`$/;
  if (continuation.test(command)) problems.push(`ends with ${dialectOf(document) === 'posix' ? 'a backslash' : 'a backtick'}, which would join it to the next command`);
  for (const p of scanPlaceholders(command, dialectOf(document))) {
    if (p.name === 'private_ip') {
      problems.push('{private_ip} is not available in SSM commands (the command runs on the instance itself)');
    } else if (!(SSM_TEMPLATE_VARIABLES as readonly string[]).includes(p.name)) {
      problems.push(`unknown template variable {${p.name}}; use ${SSM_TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(', ')}`);
    } else if (p.problem !== null) {
      problems.push(`{${p.name}} ${p.problem}`);
    }
  }
  return problems;
}

/** The commands as the instance will run them. Throws SsmCommandError for a value no word can carry. */
export function renderCommands(commands: readonly string[], document: SsmDocument, vars: SsmVariables): string[] {
  const dialect = dialectOf(document);
  return commands.map((command) => {
    let out = '';
    let from = 0;
    for (const p of scanPlaceholders(command, dialect)) {
      // Validated at load time; a template that slipped through is refused here too, never run raw.
      const name = p.name as keyof SsmVariables;
      if (p.problem !== null || !(SSM_TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
        throw new SsmCommandError(`the command template ${JSON.stringify(command)} cannot take {${p.name}} there`);
      }
      const value = vars[name];
      if (value?.includes('\0')) throw new SsmCommandError(`{${name}} contains a NUL character, which no shell word can carry`);
      out += command.slice(from, p.start) + (dialect === 'posix' ? quotePosix(value ?? '') : quotePowerShell(value ?? ''));
      from = p.end;
    }
    return out + command.slice(from);
  });
}

/** One POSIX shell word: single quotes, each `'` written as `'\''`. Nothing else is special inside. */
export function quotePosix(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * One PowerShell value. Printable ASCII: a '...' string with `'` doubled. Anything else: an expression
 * joining the UTF-16 code units, so the script stays ASCII whatever encoding the agent writes it in
 * (Windows PowerShell 5.1 reads a BOM-less file in the ANSI code page, where UTF-8 bytes could read as
 * one of the curly quotes PowerShell also ends strings with).
 */
export function quotePowerShell(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return `'${value.replaceAll("'", "''")}'`;
  const units = Array.from({ length: value.length }, (_, k) => `0x${value.charCodeAt(k).toString(16)}`);
  return `(-join [char[]](${units.join(',')}))`;
}
