/**
 * Finds the `{name}` placeholders of an SSM drain command and the quoting context each stands in, for a
 * POSIX shell (AWS-RunShellScript) or PowerShell (AWS-RunPowerShellScript). A value is substituted as one
 * quoted word, which is only safe where the shell reads plain code: inside '...' or "..." our quotes would
 * end the command's own, and in arithmetic bash evaluates `$(...)` inside a quoted operand. So a
 * placeholder anywhere else is a problem the policy refuses at load time. Pure; a small lexer, not a
 * parser: where it cannot tell, it reports a problem (never the other way round).
 */

export type ShellDialect = 'posix' | 'powershell';

export interface Placeholder {
  name: string;
  /** Offsets of `{` and one past `}` in the command. */
  start: number;
  end: number;
  /** Why a value may not be substituted here, or null where it may. */
  problem: string | null;
}

const NAME = /\{([a-z_]+)\}/y;

type Context = 'code' | 'subst' | 'dquote' | 'backtick' | 'arith' | 'param';

const CONTEXT_PROBLEM: Record<Exclude<Context, 'code' | 'subst'>, string> = {
  dquote: 'is inside a "..." string; write it outside quotes (its value is quoted for you)',
  backtick: 'is inside `...`; use $(...) or write it outside',
  arith: 'is inside arithmetic ((...)), where bash runs $(...) found in a quoted operand',
  param: 'is inside ${...}',
};

/** Every placeholder of `command` under `dialect`, in order. */
export function scanPlaceholders(command: string, dialect: ShellDialect): Placeholder[] {
  return dialect === 'posix' ? scanPosix(command) : scanPowerShell(command);
}

function placeholderAt(command: string, i: number): { name: string; end: number } | null {
  if (command[i] !== '{' || command[i - 1] === '$') return null;
  NAME.lastIndex = i;
  const m = NAME.exec(command);
  return m ? { name: m[1]!, end: NAME.lastIndex } : null;
}

/** Every `{name}` in a string's text (from `from` in the command): none may be substituted there. */
function placeholdersInString(from: number, body: string, what: string): Placeholder[] {
  return [...body.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({
    name: m[1]!,
    start: from + m.index,
    end: from + m.index + m[0].length,
    problem: `is inside a ${what} string; write it outside quotes (its value is quoted for you)`,
  }));
}

function scanPosix(command: string): Placeholder[] {
  const found: Placeholder[] = [];
  const stack: { ctx: Context; depth: number }[] = [{ ctx: 'code', depth: 0 }];
  const top = () => stack[stack.length - 1]!;
  const heredoc = /<</.test(command) ? 'is in a command with a here-document (<<), whose text is not code' : null;
  // bash reads $'...' with backslash escapes, sh (dash) as $ and a plain '...': where quotes end differs.
  const ansiC = command.includes("$'") ? "is in a command with $'...' quoting, which bash and sh read differently" : null;
  // Safe: shell code, also inside "$(...)" (its text is parsed afresh, its output stays one string);
  // never under arithmetic, backticks or ${...}, which read the output or the text again.
  const problemHere = (): string | null => {
    const topCtx = top().ctx;
    if (topCtx !== 'code' && topCtx !== 'subst') return CONTEXT_PROBLEM[topCtx];
    const under = stack.find((s) => s.ctx === 'arith' || s.ctx === 'backtick' || s.ctx === 'param');
    return under ? CONTEXT_PROBLEM[under.ctx as 'arith' | 'backtick' | 'param'] : (heredoc ?? ansiC);
  };
  const quoted = (from: number, body: string, what: string) => found.push(...placeholdersInString(from, body, what));
  let i = 0;
  while (i < command.length) {
    const ch = command[i]!;
    const ctx = top().ctx;
    const p = placeholderAt(command, i);
    if (p) {
      found.push({ name: p.name, start: i, end: p.end, problem: problemHere() });
      i = p.end;
      continue;
    }
    if (ch === '\\') {
      i += 2; // the next character is literal (a `\{name}` is not a placeholder)
      continue;
    }
    if (ctx === 'param') {
      if (ch === '}') stack.pop();
      i += 1;
      continue;
    }
    if (command.startsWith('${', i)) {
      stack.push({ ctx: 'param', depth: 0 });
      i += 2;
      continue;
    }
    if (command.startsWith('$((', i) || (ctx !== 'dquote' && command.startsWith('((', i))) {
      stack.push({ ctx: 'arith', depth: 0 });
      i += command[i] === '$' ? 3 : 2;
      continue;
    }
    if (command.startsWith('$(', i)) {
      stack.push({ ctx: 'subst', depth: 0 });
      i += 2;
      continue;
    }
    if (ch === '`') {
      if (ctx === 'backtick') stack.pop();
      else stack.push({ ctx: 'backtick', depth: 0 });
      i += 1;
      continue;
    }
    if (ctx === 'dquote') {
      if (ch === '"') stack.pop();
      i += 1;
      continue;
    }
    // shell code: code, subst, backtick, arith
    if (ch === "'") {
      const close = command.indexOf("'", i + 1);
      const end = close < 0 ? command.length : close;
      quoted(i + 1, command.slice(i + 1, end), "'...'");
      i = end + 1;
      continue;
    }
    if (command.startsWith("$'", i)) {
      let j = i + 2; // bash's $'...', with backslash escapes inside
      while (j < command.length && command[j] !== "'") j += command[j] === '\\' ? 2 : 1;
      quoted(i + 2, command.slice(i + 2, j), "$'...'");
      i = j + 1;
      continue;
    }
    if (ch === '#' && (i === 0 || /[\s;&|()]/.test(command[i - 1]!))) {
      const eol = command.indexOf('\n', i); // a comment: its quotes are no quotes
      i = eol < 0 ? command.length : eol;
      continue;
    }
    if (ch === '"') stack.push({ ctx: 'dquote', depth: 0 });
    else if (ch === '(' && (ctx === 'subst' || ctx === 'arith')) top().depth += 1;
    else if (ch === ')' && (ctx === 'subst' || ctx === 'arith')) {
      if (top().depth > 0) top().depth -= 1;
      else {
        stack.pop();
        if (ctx === 'arith' && command[i + 1] === ')') i += 1;
      }
    }
    i += 1;
  }
  return found;
}

const PS_SINGLE = new Set(["'", '\u2018', '\u2019', '\u201A', '\u201B']);
const PS_DOUBLE = new Set(['"', '\u201C', '\u201D', '\u201E']);

/**
 * PowerShell also needs the placeholder to stand alone as an argument or value (after a space, `(`, `,`,
 * `=`, `-Name:`; before a space, `)`, `,`, `;`, `|` or the end): glued to other text, argument mode
 * could split or join it differently from what the command's author sees.
 */
function scanPowerShell(command: string): Placeholder[] {
  const found: Placeholder[] = [];
  const stack: { ctx: Context; depth: number }[] = [{ ctx: 'code', depth: 0 }];
  const top = () => stack[stack.length - 1]!;
  const stopParsing = command.indexOf('--%');
  let i = 0;
  while (i < command.length) {
    const ch = command[i]!;
    const ctx = top().ctx;
    const p = placeholderAt(command, i);
    if (p) {
      const enclosing = stack.find((s) => s.ctx === 'dquote' || s.ctx === 'param');
      let problem: string | null = enclosing ? CONTEXT_PROBLEM[enclosing.ctx as 'dquote' | 'param'] : null;
      if (problem === null && stopParsing >= 0 && stopParsing < i) problem = 'comes after --% (PowerShell passes the rest of the line unquoted)';
      if (problem === null && !standsAlone(command, i, p.end)) problem = 'must stand alone as an argument or value (a space, `(`, `,`, `=` or `-Name:` before it; a space, `)`, `,`, `;`, `|` or the end after it)';
      found.push({ name: p.name, start: i, end: p.end, problem });
      i = p.end;
      continue;
    }
    if (ch === '`') {
      i += 2; // escape: the next character is literal
      continue;
    }
    if (ctx === 'dquote') {
      if (PS_DOUBLE.has(ch)) {
        if (PS_DOUBLE.has(command[i + 1] ?? '')) i += 1; // "" inside "..." is a literal quote
        else stack.pop();
      } else if (command.startsWith('$(', i)) (stack.push({ ctx: 'subst', depth: 0 }), (i += 1));
      else if (command.startsWith('${', i)) (stack.push({ ctx: 'param', depth: 0 }), (i += 1));
      i += 1;
      continue;
    }
    if (ctx === 'param') {
      if (ch === '}') stack.pop();
      i += 1;
      continue;
    }
    if (command.startsWith('<#', i)) {
      const close = command.indexOf('#>', i + 2); // a block comment: its quotes are no quotes
      i = close < 0 ? command.length : close + 2;
      continue;
    }
    if (ch === '#' && (i === 0 || /[\s;|(){}]/.test(command[i - 1]!))) {
      const eol = command.indexOf('\n', i);
      i = eol < 0 ? command.length : eol;
      continue;
    }
    if (PS_SINGLE.has(ch) || (ch === '@' && PS_SINGLE.has(command[i + 1] ?? ''))) {
      // '...' (a doubled quote is literal) and @'...'@ here-strings: nothing inside is code
      let j = i + (ch === '@' ? 2 : 1);
      for (; j < command.length; j++) {
        if (!PS_SINGLE.has(command[j]!)) continue;
        if (PS_SINGLE.has(command[j + 1] ?? '')) j += 1;
        else break;
      }
      found.push(...placeholdersInString(i, command.slice(i, j + 1), "'...'"));
      i = j + 1;
      continue;
    }
    if (PS_DOUBLE.has(ch)) stack.push({ ctx: 'dquote', depth: 0 });
    else if (ch === '@' && PS_DOUBLE.has(command[i + 1] ?? '')) (stack.push({ ctx: 'dquote', depth: 0 }), (i += 1));
    else if (command.startsWith('$(', i)) (stack.push({ ctx: 'subst', depth: 0 }), (i += 1));
    else if (command.startsWith('${', i)) (stack.push({ ctx: 'param', depth: 0 }), (i += 1));
    else if (ch === '(' && ctx === 'subst') top().depth += 1;
    else if (ch === ')' && ctx === 'subst') {
      if (top().depth > 0) top().depth -= 1;
      else stack.pop();
    }
    i += 1;
  }
  return found;
}

function standsAlone(command: string, start: number, end: number): boolean {
  const before = command.slice(0, start);
  const after = command[end];
  const okBefore = before === '' || /[\s(,=]$/.test(before) || /(^|\s)-[A-Za-z][A-Za-z0-9_]*:$/.test(before);
  const okAfter = after === undefined || /[\s),;|]/.test(after);
  return okBefore && okAfter;
}
