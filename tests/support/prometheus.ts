/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every
 * line is a HELP or TYPE comment or a sample `name{label="value",...} value
 * [timestamp]`; names and label names follow the grammar; label values use
 * only the allowed escapes; TYPE comes before a family's samples and each
 * family appears in one block; histogram buckets are cumulative and end in
 * le="+Inf" equal to _count. Throws on the first violation.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(raw: string, line: string): number {
  // Prometheus reads values with Go's strconv.ParseFloat, which matches
  // Inf and NaN case-insensitively; prom-client writes NaN as "Nan".
  if (/^\+?inf$/i.test(raw)) return Infinity;
  if (/^-inf$/i.test(raw)) return -Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`bad value "${raw}" in: ${line}`);
  return Number(raw);
}

function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf("=", i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = body.slice(i, eq).trim();
    if (!LABEL.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`duplicate label "${name}" in: ${line}`);
    if (body[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = body[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === "\\") {
        const next = body[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape in: ${line}`);
        j += 2;
        continue;
      }
      if (c === '"') break;
      value += c;
      j += 1;
    }
    labels[name] = value;
    i = j + 1;
    if (body[i] === ",") i += 1;
    else if (i < body.length) throw new Error(`expected , between labels in: ${line}`);
  }
  return labels;
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suffix)) {
      const f = families.get(sample.slice(0, -suffix.length));
      if (f && (f.type === "histogram" || f.type === "summary")) return f;
    }
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  for (const line of text.split("\n").slice(0, -1)) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // other comments are allowed
      const [, kind, name = "", rest = ""] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (closed.has(name)) throw new Error(`family ${name} appears in two blocks`);
      let f = families.get(name);
      if (!f) {
        if (current) closed.add(current.name);
        f = { name, type: "untyped", help: "", samples: [] };
        families.set(name, f);
        current = f;
      }
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        if (f.samples.length) throw new Error(`TYPE after samples in: ${line}`);
        f.type = rest;
      } else f.help = rest;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name = "", , labelBody = "", rawValue = ""] = m;
    const f = familyOf(name, families);
    if (!f) throw new Error(`sample before its TYPE/HELP: ${line}`);
    if (f !== current) throw new Error(`sample of ${f.name} outside its block: ${line}`);
    f.samples.push({ name, labels: parseLabels(labelBody, line), value: parseValue(rawValue, line) });
  }
  for (const f of families.values()) {
    if (f.type !== "histogram") continue;
    const series = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const les = buckets.map((b) => parseValue(b.labels.le as string, b.name));
      for (let i = 1; i < buckets.length; i++) {
        if (!(les[i]! > les[i - 1]!) || buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${f.name} buckets not cumulative`);
      }
      if (les.at(-1) !== Infinity) throw new Error(`${f.name} has no +Inf bucket`);
      const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(s.labels) === key);
      if (!count || count.value !== buckets.at(-1)!.value) throw new Error(`${f.name}_count differs from its +Inf bucket`);
    }
  }
  return families;
}
