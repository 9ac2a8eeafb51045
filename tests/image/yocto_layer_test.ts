/**
 * The Yocto layer os-image/meta-pbx parses and its image resolves, checked with the real poky and
 * meta-openembedded (scarthgap) tarballs: unpacks them (cached by checksum under
 * os-image/build/yocto/src/), sets up a build dir with the layer, runs `bitbake -p` (every recipe
 * parses) and `bitbake -g pbx-image` (the dependency graph resolves), and checks that the graph
 * holds a recipe for every shared library the code opens through FFI (the `soname: "..."` of
 * every driver, mapped in os-image/meta-pbx/files/ffi-libraries.tsv: a new driver without a
 * mapping fails here). Then `bitbake -e pbx-image` (the read-only root with the /etc overlay and
 * the layer's own /sbin/init) and `bitbake -g pbx-rauc-grubconf` (the RAUC variant's GRUB
 * environment). Nothing is built or fetched (BB_NO_NETWORK).
 *
 * bitbake refuses to run as root: as root (CI) the test creates the system user `pbxbuild`
 * (useradd) and runs bitbake through `runuser`. bitbake also needs the en_US.UTF-8 locale; when
 * the host lacks it the test compiles one into the cache (localedef) and points LOCPATH at it.
 *
 * Skipped with a message when the tarballs are missing (PBX_YOCTO_SOURCES, default
 * ../shared/yocto or ../../shared/yocto from the repo) or when PBX_YOCTO_TESTS=0. Timings land
 * in tests/artifacts/yocto/timings.json.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const LAYER = `${REPO}/os-image/meta-pbx`;
const CACHE = `${REPO}/os-image/build/yocto`;
const ARTIFACTS = `${REPO}/tests/artifacts/yocto`;
const BUILD_USER = "pbxbuild";

/** Tools bitbake's HOSTTOOLS needs that a minimal Debian lacks, and their packages. */
const HOST_TOOLS: Record<string, string> = {
  chrpath: "chrpath",
  diffstat: "diffstat",
  gawk: "gawk",
  cpio: "cpio",
  lz4c: "lz4",
  zstd: "zstd",
  pzstd: "zstd",
  file: "file",
  rpcgen: "libc-dev-bin",
  wget: "wget",
  git: "git",
  gcc: "gcc",
  "g++": "g++",
  make: "make",
  patch: "patch",
  python3: "python3",
};

function sourcesDir(): string | null {
  const env = Deno.env.get("PBX_YOCTO_SOURCES");
  const candidates = env ? [env] : [`${REPO}/../shared/yocto`, `${REPO}/../../shared/yocto`];
  for (const dir of candidates) {
    try {
      Deno.statSync(`${dir}/SHA256SUMS`);
      return dir;
    } catch {
      // next candidate
    }
  }
  return null;
}

const SOURCES = sourcesDir();
const skipReason = Deno.env.get("PBX_YOCTO_TESTS") === "0"
  ? "PBX_YOCTO_TESTS=0"
  : SOURCES === null
  ? "poky/meta-openembedded tarballs not found (set PBX_YOCTO_SOURCES to the dir with SHA256SUMS)"
  : null;
if (skipReason !== null) console.warn(`yocto_layer_test: skipped: ${skipReason}`);

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; out: string }> {
  const p = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.env ? { env: opts.env, clearEnv: true } : {}),
  }).output();
  const dec = new TextDecoder();
  return { code: p.code, out: dec.decode(p.stdout) + dec.decode(p.stderr) };
}

async function must(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}):\n${r.out.slice(-4000)}`);
  return r.out;
}

function which(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** `soname -> {recipe, package}` from the layer's table; throws on a malformed line. */
export function readFfiTable(text: string): Map<string, { recipe: string; pkg: string }> {
  const out = new Map<string, { recipe: string; pkg: string }>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const cols = line.split("\t");
    if (cols.length !== 3) {
      throw new SyntaxError(`ffi-libraries.tsv:${i + 1}: expected 3 tab-separated columns`);
    }
    out.set(cols[0]!, { recipe: cols[1]!, pkg: cols[2]! });
  }
  return out;
}

/** Every soname a non-test .ts file under `dir` declares (`soname: "x"`) or dlopens by literal. */
export function ffiSonames(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = Deno.readTextFileSync(p);
        for (const m of text.matchAll(/soname:\s*"([^"]+)"|Deno\.dlopen\(\s*"([^"]+)"/g)) {
          const name = (m[1] ?? m[2])!;
          if (!found.has(name)) found.set(name, p.slice(REPO.length + 1));
        }
      }
    }
  };
  walk(dir);
  return found;
}

Deno.test("every library the drivers open through FFI is mapped to a recipe in the layer", () => {
  const table = readFfiTable(Deno.readTextFileSync(`${LAYER}/files/ffi-libraries.tsv`));
  const sonames = ffiSonames(`${REPO}/drivers`);
  ok(sonames.size >= 6, `expected the codec/ALSA/libc drivers, found ${[...sonames.keys()]}`);
  const unmapped = [...sonames].filter(([s]) => !table.has(s)).map(([s, f]) => `${s} (${f})`);
  deepStrictEqual(
    unmapped,
    [],
    `add these to os-image/meta-pbx/files/ffi-libraries.tsv: ${unmapped.join(", ")}`,
  );
  // The ones named in the layer's brief are mapped whether or not a driver uses them yet.
  for (
    const s of ["libopus.so.0", "libspandsp.so.2", "libbcg729.so.0", "libspeexdsp.so.1", "libasound.so.2"]
  ) {
    ok(table.has(s), s);
  }
});

Deno.test("the FFI table parser refuses a line without three columns", () => {
  let err: unknown;
  try {
    readFfiTable("libfoo.so.1\tfoo\n");
  } catch (e) {
    err = e;
  }
  ok(err instanceof SyntaxError && /ffi-libraries\.tsv:1/.test(err.message), String(err));
});

Deno.test("the deno-bin recipe is at the Deno version appliance/dev.sh pins", () => {
  const pinned = /^DENO_VERSION=(\S+)/m.exec(Deno.readTextFileSync(`${REPO}/appliance/dev.sh`))?.[1];
  ok(pinned, "DENO_VERSION in appliance/dev.sh");
  const recipes = [...Deno.readDirSync(`${LAYER}/recipes-devtools/deno`)].map((e) => e.name);
  deepStrictEqual(recipes.filter((n) => n.endsWith(".bb")), [`deno-bin_${pinned}.bb`]);
});

/** Unpacks a tarball once into CACHE/src/<sha16>/<name>, checking it against SHA256SUMS. */
async function unpacked(file: string, name: string, sums: Map<string, string>): Promise<string> {
  const want = sums.get(file);
  if (!want) throw new Error(`${file} is not in SHA256SUMS`);
  const dir = `${CACHE}/src/${want.slice(0, 16)}/${name}`;
  try {
    Deno.statSync(`${dir}/.unpacked`);
    return dir;
  } catch {
    // not cached yet
  }
  const got = (await must("sha256sum", [`${SOURCES}/${file}`])).split(/\s/)[0];
  strictEqual(got, want, `${file} does not match SHA256SUMS`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await must("tar", ["-xzf", `${SOURCES}/${file}`, "-C", dir]);
  await Deno.writeTextFile(`${dir}/.unpacked`, want + "\n");
  return dir;
}

Deno.test({
  name:
    "bitbake parses every recipe with meta-pbx and resolves pbx-image with a recipe for every FFI library",
  ignore: skipReason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const timings: Record<string, number> = {};
    const t = async <T>(step: string, f: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        timings[step] = Math.round(performance.now() - t0) / 1000;
      }
    };
    const missing = Object.entries(HOST_TOOLS).filter(([tool]) => !which(tool));
    deepStrictEqual(
      missing,
      [],
      `bitbake host tools missing; apt-get install ${[...new Set(missing.map(([, p]) => p))].join(" ")}`,
    );

    await Deno.mkdir(CACHE, { recursive: true });
    const sums = new Map<string, string>();
    for (const line of Deno.readTextFileSync(`${SOURCES}/SHA256SUMS`).split("\n")) {
      const [sum, file] = line.trim().split(/\s+/);
      if (sum && file) sums.set(file, sum);
    }
    const { poky, metaOe } = await t("unpack", async () => ({
      poky: await unpacked("poky-scarthgap.tar.gz", "poky", sums),
      metaOe: await unpacked("meta-oe-scarthgap.tar.gz", "meta-oe", sums),
    }));

    // The build dir: layers, a parse-only local.conf, a stub slot (pbx-app's SRC_URI needs one;
    // the real one comes from make_bundle.ts --slot-dir, see docs/yocto.md).
    const build = `${CACHE}/build`;
    await Deno.mkdir(`${build}/conf`, { recursive: true });
    await Deno.mkdir(`${build}/pbx-slot`, { recursive: true });
    await Deno.writeTextFile(`${build}/pbx-slot/mod.ts`, "// stub slot for bitbake -p\n");
    const layers = [
      `${poky}/meta`,
      `${poky}/meta-poky`,
      `${poky}/meta-yocto-bsp`,
      `${metaOe}/meta-oe`,
      `${metaOe}/meta-python`,
      `${metaOe}/meta-multimedia`,
      `${metaOe}/meta-networking`,
      LAYER,
    ];
    await Deno.writeTextFile(
      `${build}/conf/bblayers.conf`,
      `BBPATH = "\${TOPDIR}"\nBBFILES ?= ""\nBBLAYERS = " \\\n${
        layers.map((l) => `  ${l} \\\n`).join("")
      }"\n`,
    );
    await Deno.writeTextFile(
      `${build}/conf/local.conf`,
      [
        'MACHINE ?= "qemux86-64"',
        'DISTRO ?= "pbx"',
        'BB_NUMBER_THREADS = "2"',
        'BB_NUMBER_PARSE_THREADS = "2"',
        'BB_NO_NETWORK = "1"',
        'CONF_VERSION = "2"',
        "",
      ].join("\n"),
    );

    // en_US.UTF-8: bitbake exits without it.
    const env: Record<string, string> = {
      PATH:
        `${poky}/bitbake/bin:${poky}/scripts:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      LANG: "en_US.UTF-8",
      LC_ALL: "en_US.UTF-8",
      BBPATH: build,
    };
    const locales = await run("locale", ["-a"]);
    if (!/^en_US\.utf-?8$/im.test(locales.out)) {
      const loc = `${CACHE}/locale`;
      try {
        Deno.statSync(`${loc}/en_US.UTF-8/LC_CTYPE`);
      } catch {
        await Deno.mkdir(loc, { recursive: true });
        await must("localedef", ["-i", "en_US", "-f", "UTF-8", `${loc}/en_US.UTF-8`]);
      }
      env.LOCPATH = loc;
      env.BB_ENV_PASSTHROUGH_ADDITIONS = "LOCPATH";
    }

    // Not as root: a system user owns the build dir and runs bitbake.
    let bitbake: { cmd: string; prefix: string[] } = { cmd: "bitbake", prefix: [] };
    if (Deno.uid() === 0) {
      const id = await run("id", ["-u", BUILD_USER]);
      if (id.code !== 0) {
        await must("useradd", [
          "--system",
          "--create-home",
          "--home-dir",
          `/var/lib/${BUILD_USER}`,
          "--shell",
          "/bin/sh",
          BUILD_USER,
        ]);
      }
      await must("chown", ["-R", `${BUILD_USER}:${BUILD_USER}`, CACHE]);
      env.HOME = `/var/lib/${BUILD_USER}`;
      bitbake = {
        cmd: "runuser",
        prefix: [
          "-u",
          BUILD_USER,
          "--",
          "env",
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          "bitbake",
        ],
      };
    } else {
      env.HOME = Deno.env.get("HOME") ?? "/tmp";
    }
    const bb = (args: string[]) => must(bitbake.cmd, [...bitbake.prefix, ...args], { cwd: build, env });

    const parse = await t("bitbake -p", () => bb(["-p"]));
    ok(!/^ERROR:/m.test(parse), parse.slice(-4000));
    await t("bitbake -g pbx-image", () => bb(["-g", "pbx-image"]));

    const buildlist = new Set(
      Deno.readTextFileSync(`${build}/pn-buildlist`).split("\n").map((s) => s.trim()).filter(Boolean),
    );
    const table = readFfiTable(Deno.readTextFileSync(`${LAYER}/files/ffi-libraries.tsv`));
    const absent = [...table].filter(([, v]) => !buildlist.has(v.recipe)).map(([s, v]) =>
      `${s} -> ${v.recipe}`
    );
    deepStrictEqual(absent, [], `not in pbx-image's graph: ${absent.join(", ")}`);
    for (
      const r of ["deno-bin", "bcg729", "pbx-app", "packagegroup-pbx-runtime", "systemd", "volatile-binds"]
    ) {
      ok(buildlist.has(r), `${r} in pbx-image's graph`);
    }
    // Every FFI package is a runtime dependency of the packagegroup (the image installs it).
    const dot = Deno.readTextFileSync(`${build}/task-depends.dot`);
    for (const [s, v] of table) {
      const edge = new RegExp(
        `"packagegroup-pbx-runtime\\.do_package_write_\\w+" -> "${
          v.recipe.replace(/[+.]/g, "\\$&")
        }\\.do_packagedata"`,
      );
      ok(edge.test(dot), `${s}: packagegroup-pbx-runtime does not depend on ${v.recipe}`);
    }

    // The image's /etc overlay and its own /sbin/init (files/pbx-etc-preinit.sh.in; run by
    // yocto_files_test.ts), on the read-only root.
    const imageEnv = await t("bitbake -e pbx-image", () => bb(["-e", "pbx-image"]));
    const value = (name: string) => new RegExp(`^${name}="([^"]*)"`, "m").exec(imageEnv)?.[1];
    for (const feature of ["read-only-rootfs", "overlayfs-etc"]) {
      ok(value("IMAGE_FEATURES")?.split(/\s+/).includes(feature), `IMAGE_FEATURES has ${feature}`);
    }
    strictEqual(value("OVERLAYFS_ETC_INIT_TEMPLATE"), `${LAYER}/files/pbx-etc-preinit.sh.in`);
    strictEqual(value("OVERLAYFS_ETC_DEVICE"), "LABEL=data");
    strictEqual(value("WKS_FILE"), "pbx-ab.wks");
    // The RAUC variant's GRUB environment recipe needs nothing from meta-rauc: it resolves here.
    // (The bundle and rauc-conf append need meta-rauc and are parsed only with it: BBFILES_DYNAMIC.)
    await t("bitbake -g pbx-rauc-grubconf", () => bb(["-g", "pbx-rauc-grubconf"]));
    const grubconf = Deno.readTextFileSync(`${build}/pn-buildlist`);
    ok(/^grub-native$/m.test(grubconf), "pbx-rauc-grubconf builds its grubenv with grub-native");

    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await Deno.writeTextFile(`${ARTIFACTS}/timings.json`, JSON.stringify(timings, null, 2) + "\n");
    console.log(`yocto_layer_test timings (s): ${JSON.stringify(timings)}`);
  },
});
