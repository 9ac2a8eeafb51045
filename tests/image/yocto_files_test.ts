/**
 * The parts of os-image/meta-pbx that run on the box or configure its tools, checked with the
 * real tools where this machine has them (fast; no bitbake, see yocto_layer_test.ts for that):
 *
 * - files/pbx-etc-preinit.sh.in (the image's /sbin/init: data partition, /etc overlay, factory
 *   reset of /etc) rendered the way overlayfs-etc.bbclass renders it (Python str.format) and run
 *   with a fake `mount`;
 * - the RAUC system.conf (dynamic-layers/rauc) loaded by the real `rauc` (Debian's), and kept in
 *   step with the bundle recipe, the wks and the GRUB script;
 * - wic/pbx-rauc-grub.cfg through `grub-script-check`.
 *
 * A missing tool skips its test with a message (apt-get install rauc grub-common).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";

const LAYER = new URL("../../os-image/meta-pbx/", import.meta.url).pathname;
const RAUC_DIR = `${LAYER}dynamic-layers/rauc/`;

function which(name: string): boolean {
  return (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

async function run(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...(env ? { env } : {}) })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** overlayfs-etc.bbclass's rendering: Python str.format with its keys. */
async function renderPreinit(keys: Record<string, string>): Promise<string> {
  const py =
    "import json,sys; a=json.loads(sys.argv[2]); print(open(sys.argv[1]).read().format(**a), end='')";
  const r = await run("python3", ["-c", py, `${LAYER}files/pbx-etc-preinit.sh.in`, JSON.stringify(keys)]);
  strictEqual(r.code, 0, r.out);
  return r.out;
}

Deno.test("the image's /sbin/init mounts the data partition, overlays /etc, and empties the overlay on a factory reset", async () => {
  const work = await Deno.makeTempDir({ prefix: "pbx-preinit-" });
  try {
    const data = `${work}/data`;
    Deno.mkdirSync(`${work}/bin`, { recursive: true });
    // A mount(8) that records its arguments; it fails for the data device when told to.
    Deno.writeTextFileSync(
      `${work}/bin/mount`,
      `#!/bin/sh\necho "mount $*" >>"${work}/log"\n` +
        `case "$*" in *LABEL=data*) [ -e "${work}/fail-data" ] && exit 32 ;; esac\nexit 0\n`,
    );
    Deno.writeTextFileSync(`${work}/init`, `#!/bin/sh\necho "init $*" >>"${work}/log"\n`);
    Deno.chmodSync(`${work}/bin/mount`, 0o755);
    Deno.chmodSync(`${work}/init`, 0o755);
    const rendered = await renderPreinit({
      OVERLAYFS_ETC_MOUNT_POINT: data,
      OVERLAYFS_ETC_MOUNT_OPTIONS: "defaults,noatime",
      OVERLAYFS_ETC_FSTYPE: "ext4",
      OVERLAYFS_ETC_DEVICE: "LABEL=data",
      SBIN_INIT_NAME: `${work}/init`,
      OVERLAYFS_ETC_EXPOSE_LOWER: "false",
      CREATE_MOUNT_DIRS: "false",
    });
    ok(!/[{}]/.test(rendered.replace(/^#.*$/gm, "")), "no braces left after rendering");
    strictEqual((await run("sh", ["-n", "-c", rendered])).code, 0, "sh -n");
    // The test's stand-ins for the PATH the kernel does not give init and for /proc/cmdline.
    const script = rendered
      .replace("PATH=/sbin:/bin:/usr/sbin:/usr/bin", `PATH=${work}/bin:/usr/bin:/bin`)
      .replaceAll("/proc/cmdline", `${work}/cmdline`);
    ok(script.includes(`PATH=${work}/bin`) && script.includes(`${work}/cmdline`), "stand-ins in place");
    Deno.writeTextFileSync(`${work}/preinit`, script);

    const boot = async (cmdline: string) => {
      Deno.writeTextFileSync(`${work}/cmdline`, cmdline + "\n");
      try {
        Deno.removeSync(`${work}/log`);
      } catch { /* first boot */ }
      const r = await run("sh", [`${work}/preinit`, "--arg-for-init"]);
      strictEqual(r.code, 0, r.out);
      return { out: r.out, log: Deno.readTextFileSync(`${work}/log`).trim().split("\n") };
    };
    const upper = `${data}/overlay-etc/upper`;
    const overlayMount =
      `mount -n -t overlay -o lowerdir=/etc,upperdir=${upper},workdir=${data}/overlay-etc/work,index=off,xino=off,redirect_dir=off,metacopy=off overlay-etc /etc`;

    // First boot: the data partition, then /etc as an overlay, then systemd with init's arguments.
    Deno.mkdirSync(data);
    let b = await boot("root=PARTLABEL=rootfsA ro");
    deepStrictEqual(b.log, [
      "mount -t proc proc /proc",
      "mount -t sysfs sysfs /sys",
      `mount -n -t ext4 -o defaults,noatime LABEL=data ${data}`,
      overlayMount,
      "init --arg-for-init",
    ]);
    // What the box wrote to /etc survives a normal boot.
    Deno.writeTextFileSync(`${upper}/hostname`, "pbx-office\n");
    b = await boot("root=PARTLABEL=rootfsA ro");
    strictEqual(Deno.readTextFileSync(`${upper}/hostname`), "pbx-office\n");
    // Factory reset asked by the app (pbx-helper's marker in the data dir): /etc back to the image's.
    Deno.mkdirSync(`${data}/pbx`);
    Deno.writeTextFileSync(`${data}/pbx/.factory-reset`, "");
    b = await boot("root=PARTLABEL=rootfsA ro");
    ok(b.out.includes("factory reset: /etc back to the image's"), b.out);
    deepStrictEqual([...Deno.readDirSync(upper)], [], "upper layer emptied");
    ok(b.log.includes(overlayMount), "the overlay is mounted again, empty");
    Deno.removeSync(`${data}/pbx/.factory-reset`);
    // Factory reset from the boot menu (kernel argument).
    Deno.writeTextFileSync(`${upper}/timezone`, "Europe/Berlin\n");
    b = await boot("root=PARTLABEL=rootfsA ro pbx.factory_reset");
    deepStrictEqual([...Deno.readDirSync(upper)], []);
    // A look-alike argument is not a reset.
    Deno.writeTextFileSync(`${upper}/timezone`, "Europe/Berlin\n");
    await boot("root=PARTLABEL=rootfsA pbx.factory_reset_not ro");
    strictEqual(Deno.readTextFileSync(`${upper}/timezone`), "Europe/Berlin\n");
    // No data partition: no overlay (read-only /etc), but the box still boots into systemd.
    Deno.writeTextFileSync(`${work}/fail-data`, "");
    b = await boot("root=PARTLABEL=rootfsA ro");
    ok(b.out.includes("mounting LABEL=data on"), b.out);
    ok(!b.log.includes(overlayMount), b.log.join("\n"));
    strictEqual(b.log.at(-1), "init --arg-for-init");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

/** `[section]` -> key -> value of an INI file (RAUC's system.conf). */
function ini(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const h = /^\[(.+)\]$/.exec(line);
    if (h) {
      cur = new Map();
      out.set(h[1]!, cur);
      continue;
    }
    const eq = line.indexOf("=");
    cur?.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

Deno.test("the RAUC system.conf matches the bundle recipe, the wks partitions and the GRUB script", () => {
  const conf = ini(Deno.readTextFileSync(`${RAUC_DIR}recipes-core/rauc/files/system.conf`));
  const bundle = Deno.readTextFileSync(`${RAUC_DIR}recipes-core/bundles/pbx-os-bundle.bb`);
  const wks = Deno.readTextFileSync(`${LAYER}wic/pbx-ab-rauc.wks`);
  const grub = Deno.readTextFileSync(`${LAYER}wic/pbx-rauc-grub.cfg`);
  const image = Deno.readTextFileSync(`${LAYER}recipes-pbx/images/pbx-image.bb`);
  const system = conf.get("system")!;
  strictEqual(system.get("compatible"), /^RAUC_BUNDLE_COMPATIBLE = "([^"]+)"/m.exec(bundle)?.[1]);
  strictEqual(system.get("bootloader"), "grub");
  // grubenv: on the EFI partition (mounted at /boot/efi), where IMAGE_EFI_BOOT_FILES puts it and
  // next to grub.cfg (GRUB's ${prefix} is /EFI/BOOT).
  ok(/^part \/boot\/efi --source bootimg-efi --sourceparams="loader=grub-efi/m.test(wks), wks);
  strictEqual(system.get("grubenv"), "/boot/efi/EFI/BOOT/grubenv");
  ok(image.includes("grubenv;EFI/BOOT/grubenv"), "IMAGE_EFI_BOOT_FILES installs grubenv");
  ok(system.get("data-directory")!.startsWith("/data/"), "RAUC's state on the data partition");
  // Two ext4 rootfs slots, by GPT partition name (wic --label), bootnames the GRUB script boots.
  const slots = [...conf].filter(([name]) => name.startsWith("slot.rootfs."));
  strictEqual(slots.length, 2);
  const labels = [...wks.matchAll(/^part .*--label (\S+)/gm)].map((m) => m[1]);
  deepStrictEqual(labels, ["boot", "rootfsA", "rootfsB", "data"], "GRUB boots partitions 2 and 3");
  for (const [name, slot] of slots) {
    strictEqual(slot.get("type"), "ext4", name);
    const part = /^\/dev\/disk\/by-partlabel\/(\S+)$/.exec(slot.get("device") ?? "")?.[1];
    ok(part !== undefined && labels.includes(part), `${name}: ${slot.get("device")} is a wks partition`);
    const boot = slot.get("bootname")!;
    ok(grub.includes(`--id slot${boot}`), `${name}: GRUB has a menu entry for bootname ${boot}`);
    const entry = new RegExp(
      `--id slot${boot} \\{\\s*set root="\\$\\{disk\\},gpt${
        labels.indexOf(part!) + 1
      }"\\s*linux /boot/bzImage root=PARTLABEL=${part} rauc\\.slot=${boot} `,
    );
    ok(entry.test(grub), `${name}: GRUB boots partition ${part} as slot ${boot}`);
  }
  // The keyring file the bbappend installs is the one system.conf names.
  const append = Deno.readTextFileSync(`${RAUC_DIR}recipes-core/rauc/rauc-conf.bbappend`);
  strictEqual(conf.get("keyring")?.get("path"), /^RAUC_KEYRING_FILE = "([^"]+)"/m.exec(append)?.[1]);
  // layer.conf only parses the dynamic layer with meta-rauc (collection "rauc").
  const layerConf = Deno.readTextFileSync(`${LAYER}conf/layer.conf`);
  ok(layerConf.includes("rauc:${LAYERDIR}/dynamic-layers/rauc/recipes-*/*/*.bb"), "BBFILES_DYNAMIC");
});

Deno.test({
  name: "the real rauc loads the layer's system.conf (and refuses a broken copy)",
  ignore: !which("rauc"),
  fn: async () => {
    const conf = `${RAUC_DIR}recipes-core/rauc/files/system.conf`;
    // `status` loads the config first, then asks the (absent) D-Bus service: a config error
    // is reported before that.
    const good = await run("rauc", [`--conf=${conf}`, "status"]);
    ok(!/Failed to load system config/.test(good.out), good.out);
    ok(/D-Bus|slot|rootfs/i.test(good.out), good.out);
    const broken = await Deno.makeTempFile({ suffix: ".conf" });
    try {
      Deno.writeTextFileSync(broken, Deno.readTextFileSync(conf).replace("type=ext4", "type=ext5"));
      const bad = await run("rauc", [`--conf=${broken}`, "status"]);
      ok(/Failed to load system config.*Unsupported slot type 'ext5'/.test(bad.out), bad.out);
    } finally {
      Deno.removeSync(broken);
    }
  },
});
if (!which("rauc")) {
  console.warn("yocto_files_test: rauc not installed (apt-get install rauc): system.conf not loaded");
}

Deno.test({
  name: "the GRUB A/B script passes grub-script-check",
  ignore: !which("grub-script-check"),
  fn: async () => {
    const r = await run("grub-script-check", [`${LAYER}wic/pbx-rauc-grub.cfg`]);
    strictEqual(r.code, 0, r.out);
    const broken = await Deno.makeTempFile({ suffix: ".cfg" });
    try {
      Deno.writeTextFileSync(broken, "if [ a = b ]; then\n  echo x\n");
      strictEqual((await run("grub-script-check", [broken])).code === 0, false, "an unclosed if fails");
    } finally {
      Deno.removeSync(broken);
    }
  },
});
if (!which("grub-script-check")) {
  console.warn("yocto_files_test: grub-script-check not installed (apt-get install grub-common)");
}
