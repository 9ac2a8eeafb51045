/**
 * A small, safe template language for phone configuration files.
 *
 *   {{ name }}  {{ server.host }}        a value, escaped for the template's output type
 *   {{#each list}} ... {{/each}}         loop; inside, item fields resolve first, then outer
 *                                        names; {{ @index }} (0-based) and {{ @number }} (1-based)
 *   {{#if x}} ... {{else}} ... {{/if}}   truthiness: non-empty string/list, non-zero, true
 *   {{#unless x}} ... {{/unless}}
 *   {{! comment }}
 *
 * There is no raw output, no expressions and no calls: a template can only place values the
 * schema allows, escaped for XML or INI, so a hostile display name cannot add keys or tags.
 * Templates are parsed and validated once (unknown names and unbalanced blocks are a
 * SyntaxError with line and column), then rendered many times.
 */

/** How values are escaped on output. */
export type EscapeMode = "xml" | "ini" | "text";

/** Describes the names a template may use: scalars, or lists of objects. */
export type Schema = { [name: string]: "scalar" | Schema | { list: Schema } };

/** A value a template can render. */
export type TemplateValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | TemplateValue[]
  | { [key: string]: TemplateValue };

type Node =
  | { t: "text"; s: string }
  | { t: "var"; path: string[]; line: number; col: number }
  | { t: "each"; path: string[]; body: Node[]; line: number; col: number }
  | { t: "if"; path: string[]; negate: boolean; then: Node[]; else: Node[]; line: number; col: number };

/** Limits of one render; exceeding one is a RangeError, so a hostile template cannot stall the box. */
export interface RenderBudget {
  /** Nodes visited (text, values, blocks, loop iterations). Default {@linkcode MAX_RENDER_STEPS}. */
  maxSteps?: number;
  /** Characters of output. Default {@linkcode MAX_RENDER_OUTPUT}. */
  maxOutput?: number;
}

/** Default step budget of a render: far above any shipped template with 64 keys. */
export const MAX_RENDER_STEPS = 200_000;
/** Default output budget of a render (characters). */
export const MAX_RENDER_OUTPUT = 1 << 20;

/** A parsed, validated template. */
export interface Template {
  readonly name: string;
  readonly escape: EscapeMode;
  /** Render; RangeError ("... render budget ...") when the budget is exceeded. */
  render(data: Record<string, TemplateValue>, budget?: RenderBudget): string;
}

/** Escape a value for XML text and attribute content. */
export function escapeXml(s: string): string {
  // Control characters other than tab/newline are not allowed in XML 1.0 at all. Line breaks become
  // character references: an attribute value keeps them (a PEM certificate in a Polycom attribute),
  // where a literal one would be normalized to a space (XML 1.0 3.3.3).
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, "").replace(
    /[&<>"'\r\n]/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : c === "'"
        ? "&apos;"
        : c === "\n"
        ? "&#10;"
        : "&#13;",
  );
}

/** Make a value safe for one `key = value` line: no line breaks or control characters. */
export function escapeIni(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x1f\x7f\u2028\u2029\u0085]/g, " ");
}

function position(src: string, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset; i++) {
    if (src[i] === "\n") {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}

const NAME = /^(@index|@number|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$/;

/**
 * Parse and validate `source`. Throws SyntaxError("name:line:col: ...") for unbalanced or
 * unknown tags and for names the schema does not allow.
 */
export function compileTemplate(
  source: string,
  options: { name?: string; escape: EscapeMode; schema: Schema },
): Template {
  const name = options.name ?? "template";
  const fail = (offset: number, msg: string): never => {
    const p = position(source, offset);
    throw new SyntaxError(`${name}:${p.line}:${p.col}: ${msg}`);
  };

  type Frame = { kind: "root" | "each" | "if"; nodes: Node[]; node?: Node; offset: number; inElse?: boolean };
  const root: Frame = { kind: "root", nodes: [], offset: 0 };
  const stack: Frame[] = [root];
  const top = () => stack[stack.length - 1]!;
  const push = (n: Node) => {
    const f = top();
    if (f.kind === "if" && f.inElse) (f.node as Extract<Node, { t: "if" }>).else.push(n);
    else f.nodes.push(n);
  };

  let i = 0;
  while (i < source.length) {
    const open = source.indexOf("{{", i);
    if (open < 0) {
      push({ t: "text", s: source.slice(i) });
      break;
    }
    if (open > i) push({ t: "text", s: source.slice(i, open) });
    const close = source.indexOf("}}", open + 2);
    if (close < 0) fail(open, "unclosed {{");
    const inner = source.slice(open + 2, close).trim();
    const { line, col } = position(source, open);
    i = close + 2;
    if (inner.startsWith("!")) continue;
    if (inner.startsWith("#")) {
      const m = /^#(each|if|unless)\s+(\S+)$/.exec(inner);
      if (!m) fail(open, `malformed block tag {{${inner}}}`);
      const [, kw, pathStr] = m!;
      if (!NAME.test(pathStr!)) fail(open, `invalid name "${pathStr}"`);
      const path = pathStr!.split(".");
      if (kw === "each") {
        const node: Node = { t: "each", path, body: [], line, col };
        push(node);
        stack.push({ kind: "each", nodes: node.body, node, offset: open });
      } else {
        const node: Node = { t: "if", path, negate: kw === "unless", then: [], else: [], line, col };
        push(node);
        stack.push({ kind: "if", nodes: node.then, node, offset: open });
      }
      continue;
    }
    if (inner === "else") {
      const f = top();
      if (f.kind !== "if" || f.inElse) fail(open, "{{else}} outside {{#if}}");
      f.inElse = true;
      continue;
    }
    if (inner.startsWith("/")) {
      const kw = inner.slice(1).trim();
      const f = top();
      const expected = f.kind === "each" ? "each" : f.kind === "if" ? ["if", "unless"] : null;
      if (expected === null) fail(open, `{{/${kw}}} without an open block`);
      const ok = Array.isArray(expected) ? expected.includes(kw) : expected === kw;
      if (!ok) fail(open, `{{/${kw}}} closes a {{#${f.kind}}} block`);
      stack.pop();
      continue;
    }
    if (!NAME.test(inner)) fail(open, `invalid name "${inner}"`);
    push({ t: "var", path: inner.split("."), line, col });
  }
  if (stack.length > 1) fail(top().offset, `unclosed {{#${top().kind}}} block`);

  // Validate names against the schema, with loop scopes stacked innermost first.
  const lookup = (path: string[], scopes: Schema[], inLoop: boolean): Schema[string] | "meta" | undefined => {
    if (path[0] === "@index" || path[0] === "@number") return inLoop ? "meta" : undefined;
    for (const scope of scopes) {
      let cur: Schema[string] | undefined = scope[path[0]!];
      if (cur === undefined) continue;
      for (const seg of path.slice(1)) {
        if (cur === "scalar" || cur === undefined || "list" in (cur as object)) return undefined;
        cur = (cur as Schema)[seg];
      }
      return cur;
    }
    return undefined;
  };
  const check = (nodes: Node[], scopes: Schema[]) => {
    for (const n of nodes) {
      if (n.t === "text") continue;
      const at = `${name}:${n.line}:${n.col}`;
      const found = lookup(n.path, scopes, scopes.length > 1);
      const shown = n.path.join(".");
      if (found === undefined) throw new SyntaxError(`${at}: unknown variable "${shown}"`);
      if (n.t === "var" && found !== "scalar" && found !== "meta") {
        throw new SyntaxError(`${at}: "${shown}" is not a scalar value`);
      }
      if (n.t === "each") {
        if (typeof found !== "object" || !("list" in found)) {
          throw new SyntaxError(`${at}: "${shown}" is not a list`);
        }
        check(n.body, [(found as { list: Schema }).list, ...scopes]);
      }
      if (n.t === "if") {
        check(n.then, scopes);
        check(n.else, scopes);
      }
    }
  };
  check(root.nodes, [options.schema]);

  const esc = options.escape === "xml" ? escapeXml : options.escape === "ini" ? escapeIni : (s: string) => s;
  const nodes = root.nodes;

  type Scope = { data: Record<string, TemplateValue>; index?: number };
  const resolve = (path: string[], scopes: Scope[]): TemplateValue => {
    if (path[0] === "@index") return scopes[0]?.index;
    if (path[0] === "@number") return (scopes[0]?.index ?? -1) + 1;
    for (const s of scopes) {
      if (!(path[0]! in s.data)) continue;
      let cur: TemplateValue = s.data[path[0]!];
      for (const seg of path.slice(1)) {
        cur = cur !== null && typeof cur === "object" && !Array.isArray(cur) ? cur[seg] : undefined;
      }
      return cur;
    }
    return undefined;
  };
  const truthy = (v: TemplateValue) => Array.isArray(v) ? v.length > 0 : Boolean(v);
  type Budget = { steps: number; chars: number; maxSteps: number; maxOutput: number };
  const over = (what: string, limit: number): never => {
    throw new RangeError(
      `${name}: template exceeds its render budget (${what} > ${limit}); nested {{#each}} blocks multiply`,
    );
  };
  const emit = (s: string, out: string[], b: Budget) => {
    b.chars += s.length;
    if (b.chars > b.maxOutput) over("output characters", b.maxOutput);
    out.push(s);
  };
  const run = (list: Node[], scopes: Scope[], out: string[], b: Budget) => {
    for (const n of list) {
      if (++b.steps > b.maxSteps) over("steps", b.maxSteps);
      if (n.t === "text") emit(n.s, out, b);
      else if (n.t === "var") {
        const v = resolve(n.path, scopes);
        if (v === null || v === undefined) continue;
        if (typeof v === "object") {
          throw new TypeError(`${name}: "${n.path.join(".")}" is not a scalar at render`);
        }
        emit(esc(String(v)), out, b);
      } else if (n.t === "each") {
        const v = resolve(n.path, scopes);
        if (!Array.isArray(v)) continue;
        v.forEach((item, index) => {
          if (++b.steps > b.maxSteps) over("steps", b.maxSteps);
          const data = item !== null && typeof item === "object" && !Array.isArray(item) ? item : {};
          run(n.body, [{ data, index }, ...scopes], out, b);
        });
      } else {
        const t = truthy(resolve(n.path, scopes));
        run(t !== n.negate ? n.then : n.else, scopes, out, b);
      }
    }
  };

  return {
    name,
    escape: options.escape,
    render(data, budget = {}) {
      const out: string[] = [];
      const b = {
        steps: 0,
        chars: 0,
        maxSteps: budget.maxSteps ?? MAX_RENDER_STEPS,
        maxOutput: budget.maxOutput ?? MAX_RENDER_OUTPUT,
      };
      run(nodes, [{ data }], out, b);
      return out.join("");
    },
  };
}
