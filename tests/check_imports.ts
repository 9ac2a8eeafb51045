/**
 * Import-direction check, run by `deno task test` before the test suite.
 *
 * The rules below are the table from /work/shared/ARCHITECTURE.md ("The layers"): imports point
 * down only, features do not import each other, web/ and provisioning/ stay off SIP and media
 * internals, and only drivers/ calls `Deno.dlopen`. Change this table and ARCHITECTURE.md together.
 *
 * The import graph comes from `deno info --json` (Deno's own parser, so regex literals, comments and
 * type-only imports are handled correctly) over one synthetic root that imports every checked file,
 * so modules not yet reached from mod.ts are checked too. Tests (`*_test.ts`, `*_bench.ts`, tests/)
 * are exempt from every rule.
 *
 * Usage: deno run --allow-read --allow-run --allow-env tests/check_imports.ts
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// The rule table (see ARCHITECTURE.md)
// ---------------------------------------------------------------------------------------------

/** One layer: the repo-relative path prefix it owns and its height. Higher may import lower. */
export interface Layer {
  /** Name used in messages. */
  name: string;
  /** Repo-relative prefix ("web/") or, for a single file, its exact path ("mod.ts"). */
  prefix: string;
  /** Height: a file may import only its own layer or layers with a smaller rank. */
  rank: number;
}

/** Top -> down. Layers with equal rank are siblings and may not import each other. */
export const LAYERS: readonly Layer[] = [
  { name: "mod.ts", prefix: "mod.ts", rank: 100 },
  { name: "appliance", prefix: "appliance/", rank: 90 },
  { name: "web", prefix: "web/", rank: 80 },
  { name: "provisioning", prefix: "provisioning/", rank: 80 },
  { name: "runtime/features", prefix: "runtime/features/", rank: 70 },
  { name: "runtime/call", prefix: "runtime/call/", rank: 60 },
  { name: "runtime/registrar", prefix: "runtime/registrar/", rank: 50 },
  // sip, sdp and media are siblings: sip knows nothing of media, media nothing of SIP; sdp is pure.
  { name: "runtime/sip", prefix: "runtime/sip/", rank: 40 },
  { name: "runtime/sdp", prefix: "runtime/sdp/", rank: 40 },
  { name: "runtime/media", prefix: "runtime/media/", rank: 40 },
  // mail (the SMTP outbox) sits on storage and log; features, web and appliance use it.
  { name: "runtime/mail", prefix: "runtime/mail/", rank: 35 },
  { name: "runtime/storage", prefix: "runtime/storage/", rank: 30 },
  // log is below storage (storage logs) and above clock (log lines carry times).
  { name: "runtime/log", prefix: "runtime/log/", rank: 25 },
  { name: "runtime/clock", prefix: "runtime/clock/", rank: 20 },
  { name: "drivers", prefix: "drivers/", rank: 10 },
];

/** Extra bans on top of the ranks: `from` may not import `to` even though `to` is lower. */
export const FORBIDDEN: readonly { from: string; to: string; except?: readonly string[]; why: string }[] = [
  { from: "web", to: "runtime/sip", why: "web reads storage and the call live-status API only" },
  { from: "web", to: "runtime/media", why: "web reads storage and the call live-status API only" },
  { from: "web", to: "drivers", why: "only appliance wires drivers in" },
  {
    from: "web",
    to: "runtime/registrar",
    except: ["runtime/registrar/mod.ts"],
    why: "registrar internals are private; use runtime/registrar/mod.ts",
  },
  { from: "provisioning", to: "runtime/sip", why: "provisioning stays off the SIP stack" },
  { from: "provisioning", to: "runtime/media", why: "provisioning stays off media" },
  { from: "provisioning", to: "drivers", why: "only appliance wires drivers in" },
  {
    from: "provisioning",
    to: "runtime/registrar",
    except: ["runtime/registrar/mod.ts"],
    why: "registrar internals are private; use runtime/registrar/mod.ts",
  },
  { from: "runtime/features", to: "runtime/sip", why: "features use call, not SIP internals" },
  { from: "runtime/features", to: "drivers", why: "features use media, not drivers" },
];

/** The only layer whose source may contain `Deno.dlopen`. */
export const DLOPEN_LAYER = "drivers";

/** Folders scanned (besides mod.ts). */
export const SCANNED_ROOTS = ["appliance", "web", "provisioning", "runtime", "drivers"] as const;

// ---------------------------------------------------------------------------------------------

/** One source file as the checker sees it. */
export interface SourceFile {
  /** Repo-relative POSIX path, e.g. "runtime/sip/message/parse.ts". */
  path: string;
  /** Resolved imports: repo-relative paths for local files, else the specifier ("npm:hono@4"). */
  imports: string[];
  /** The file's text (for the dlopen rule). */
  source: string;
}

/** One broken rule. */
export interface Violation {
  /** The importing file. */
  file: string;
  /** The import target, when the rule is about an import. */
  target?: string;
  /** Which rule. */
  rule: "layer" | "sideways" | "forbidden" | "feature" | "private" | "unlisted" | "dlopen" | "tests";
  /** Human-readable explanation: "A imports B: layer X may not import layer Y". */
  message: string;
}

/** True for test and benchmark files, which are exempt from every rule. */
export function isExempt(path: string): boolean {
  return path.startsWith("tests/") || /_test\.tsx?$/.test(path) || /_bench\.tsx?$/.test(path) ||
    path.includes("/testdata/");
}

/** The layer that owns a repo-relative path, or undefined. */
export function layerOf(path: string): Layer | undefined {
  return LAYERS.find((l) => l.prefix.endsWith("/") ? path.startsWith(l.prefix) : path === l.prefix);
}

/** The feature folder of a runtime/features path ("voicemail"), "" for files directly in it. */
function featureOf(path: string): string {
  const rest = path.slice("runtime/features/".length);
  const slash = rest.indexOf("/");
  return slash === -1 ? "" : rest.slice(0, slash);
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1 ? "" : path.slice(0, i + 1);
}

function isLocal(specifier: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(specifier);
}

/** Removes comments well enough that a doc comment mentioning Deno.dlopen does not count. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/**
 * Checks files against the rule table. Pure: callers supply paths, resolved imports and source.
 * Exempt files (tests) are skipped.
 */
export function findViolations(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    if (isExempt(file.path)) continue;
    const from = layerOf(file.path);
    if (from === undefined) {
      if (file.path.startsWith("runtime/")) {
        out.push({
          file: file.path,
          rule: "unlisted",
          message: `${file.path} is in no layer: add its folder to LAYERS in tests/check_imports.ts ` +
            `and to ARCHITECTURE.md`,
        });
      }
      continue;
    }
    if (from.name !== DLOPEN_LAYER && /\bDeno\s*\.\s*dlopen\b/.test(stripComments(file.source))) {
      out.push({
        file: file.path,
        rule: "dlopen",
        message: `${file.path} calls Deno.dlopen: only ${DLOPEN_LAYER}/ may load native libraries`,
      });
    }
    for (const target of new Set(file.imports)) {
      if (!isLocal(target)) continue;
      const v = checkImport(file.path, from, target);
      if (v !== undefined) out.push(v);
    }
  }
  return out;
}

function checkImport(path: string, from: Layer, target: string): Violation | undefined {
  const base = { file: path, target };
  if (target.startsWith("tests/") || /_test\.tsx?$/.test(target)) {
    return {
      ...base,
      rule: "tests",
      message: `${path} imports ${target}: production code may not import tests`,
    };
  }
  const to = layerOf(target);
  if (to === undefined) {
    return {
      ...base,
      rule: "unlisted",
      message: `${path} imports ${target}: layer ${from.name} may not import ${target}, which is in no layer`,
    };
  }
  // Files starting with "_" are private to their folder (and its subfolders).
  const name = target.slice(target.lastIndexOf("/") + 1);
  if (name.startsWith("_") && !path.startsWith(dirOf(target))) {
    return {
      ...base,
      rule: "private",
      message: `${path} imports ${target}: ${name} is private to ${dirOf(target) || "./"}`,
    };
  }
  if (to.name === from.name) {
    if (from.name === "runtime/features") {
      const a = featureOf(path);
      const b = featureOf(target);
      if (a !== "" && a !== b) {
        return {
          ...base,
          rule: "feature",
          message: `${path} imports ${target}: layer runtime/features/${a} may not import layer ` +
            `runtime/features/${b || "(root)"} (features do not import each other; move shared code down)`,
        };
      }
    }
    return undefined;
  }
  if (to.rank > from.rank) {
    return {
      ...base,
      rule: "layer",
      message:
        `${path} imports ${target}: layer ${from.name} may not import layer ${to.name} (imports point down)`,
    };
  }
  if (to.rank === from.rank) {
    return {
      ...base,
      rule: "sideways",
      message: `${path} imports ${target}: layer ${from.name} may not import layer ${to.name} (siblings)`,
    };
  }
  const ban = FORBIDDEN.find((f) =>
    f.from === from.name && f.to === to.name && !(f.except ?? []).includes(target)
  );
  if (ban !== undefined) {
    return {
      ...base,
      rule: "forbidden",
      message: `${path} imports ${target}: layer ${from.name} may not import layer ${to.name} (${ban.why})`,
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Collecting the files (impure part)
// ---------------------------------------------------------------------------------------------

async function listTsFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${root}/${dir}`)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const entry of entries) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listTsFiles(root, rel));
    else if (entry.isFile && /\.(ts|tsx|mts)$/.test(entry.name)) out.push(rel);
  }
  return out;
}

interface InfoModule {
  specifier: string;
  error?: string;
  dependencies?: { specifier: string; code?: { specifier: string }; type?: { specifier: string } }[];
}

/** Regex fallback for a file Deno could not parse (half-written code): better than nothing. */
function importsByRegex(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)) {
    if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/** Builds SourceFile records for every checked file under `root` using `deno info --json`. */
export async function collectFiles(root: string): Promise<{ files: SourceFile[]; warnings: string[] }> {
  const rootUrl = new URL(`file://${root.endsWith("/") ? root : root + "/"}`);
  const paths: string[] = [];
  try {
    Deno.statSync(`${root}/mod.ts`);
    paths.push("mod.ts");
  } catch { /* no mod.ts yet */ }
  for (const dir of SCANNED_ROOTS) paths.push(...await listTsFiles(root, dir));
  const checked = paths.filter((p) => !isExempt(p)).sort();
  const warnings: string[] = [];
  if (checked.length === 0) return { files: [], warnings };

  const toRel = (spec: string): string => {
    if (spec.startsWith(rootUrl.href)) return decodeURIComponent(spec.slice(rootUrl.href.length));
    if (spec.startsWith("file://")) return decodeURIComponent(new URL(spec).pathname);
    return spec;
  };
  const rootModule = "data:application/typescript," +
    encodeURIComponent(checked.map((p) => `import ${JSON.stringify(new URL(p, rootUrl).href)};`).join("\n"));
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", rootModule],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`deno info failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  const info = JSON.parse(new TextDecoder().decode(result.stdout)) as { modules: InfoModule[] };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));

  const files: SourceFile[] = [];
  for (const path of checked) {
    const source = await Deno.readTextFile(`${root}/${path}`);
    const mod = bySpec.get(new URL(path, rootUrl).href);
    let imports: string[];
    if (mod === undefined || mod.error !== undefined) {
      warnings.push(
        `${path}: deno info could not read it (${mod?.error?.split("\n")[0] ?? "missing"}); ` +
          `imports taken by regex`,
      );
      imports = importsByRegex(source).map((s) =>
        isLocal(s) ? toRel(new URL(s, new URL(path, rootUrl)).href) : s
      );
    } else {
      imports = (mod.dependencies ?? []).map((d) =>
        toRel(d.code?.specifier ?? d.type?.specifier ?? d.specifier)
      );
    }
    files.push({ path, imports, source });
  }
  return { files, warnings };
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const { files, warnings } = await collectFiles(root);
  for (const w of warnings) console.error(`check_imports: warning: ${w}`);
  const violations = findViolations(files);
  if (violations.length > 0) {
    console.error(`check_imports: ${violations.length} import rule violation(s) (see ARCHITECTURE.md):`);
    for (const v of violations) console.error(`  ${v.message}`);
    Deno.exit(1);
  }
  console.error(`check_imports: ${files.length} files, imports point down`);
}
