/** Byte sizes as operators write them: `1048576`, `512KiB`, `1MiB`, `2MB`. */
const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 ** 2 };

export class SizeError extends Error {}

export function parseSize(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new SizeError(`'${text}' is not a size (e.g. 1048576, 512KiB, 1MiB)`);
  return Number(m[1]) * unit;
}
