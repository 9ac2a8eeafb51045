/**
 * appliance/box/pbx-helper, run by hand against a temp root (PBX_HELPER_ROOT) with stub
 * networkctl/systemctl/hostname/ip/logger on PATH that record their arguments: the fixed command
 * set installs exactly the staged files, refuses symlinks, bad names and unknown commands.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";

const HELPER = new URL("./pbx-helper", import.meta.url).pathname;

interface Box {
  dir: string;
  root: string;
  stage: string;
  data: string;
  run(request: string): Promise<{ code: number; out: string; calls: string[] }>;
}

async function box(): Promise<Box> {
  const dir = await Deno.makeTempDir({ prefix: "pbx-helper-" });
  const root = `${dir}/root`;
  const stage = `${dir}/stage`;
  const data = `${dir}/data`;
  const bin = `${dir}/bin`;
  for (const d of [`${root}/etc/systemd/network`, `${root}/usr/share/zoneinfo/Europe`, stage, data, bin]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(`${root}/usr/share/zoneinfo/Europe/Berlin`, "TZif");
  await Deno.writeTextFile(`${root}/etc/hostname`, "pbx\n");
  for (const cmd of ["networkctl", "systemctl", "hostname", "ip", "logger"]) {
    await Deno.writeTextFile(`${bin}/${cmd}`, `#!/bin/sh\necho "${cmd} $*" >>"${dir}/calls"\n`, {
      mode: 0o755,
    });
  }
  return {
    dir,
    root,
    stage,
    data,
    async run(request) {
      await Deno.writeTextFile(`${dir}/calls`, "");
      const p = new Deno.Command("sh", {
        args: [HELPER],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          PBX_HELPER_ROOT: root,
          PBX_STAGE: stage,
          PBX_DATA_DIR: data,
          PBX_USER: String(Deno.uid() ?? 0),
          PBX_FACTORY_DIR: `${dir}/factory`,
        },
      }).spawn();
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(request + "\n"));
      await w.close();
      const out = await p.output();
      const calls = (await Deno.readTextFile(`${dir}/calls`)).split("\n").filter((l) =>
        l !== "" && !l.startsWith("logger")
      );
      return { code: out.code, out: new TextDecoder().decode(out.stdout).trim(), calls };
    },
  };
}

Deno.test("stage-init mirrors /etc into the stage; network-reload installs the staged network file", async () => {
  const b = await box();
  try {
    Deno.symlinkSync("/usr/share/zoneinfo/Europe/Berlin", `${b.root}/etc/localtime`);
    let r = await b.run("stage-init");
    deepStrictEqual([r.code, r.out], [0, "ok"]);
    strictEqual(await Deno.readTextFile(`${b.stage}/etc/hostname`), "pbx\n");
    strictEqual(Deno.readLinkSync(`${b.stage}/etc/localtime`), "/usr/share/zoneinfo/Europe/Berlin");
    ok(Deno.statSync(`${b.stage}/usr/share/zoneinfo/Europe/Berlin`).isFile);
    ok(Deno.statSync(`${b.stage}/proc/sys/kernel/random/boot_id`).isFile);

    await Deno.writeTextFile(`${b.stage}/etc/systemd/network/20-pbx-lan.network`, "[Match]\nName=ens3\n");
    await Deno.writeTextFile(`${b.stage}/etc/hostname`, "pbx-office\n");
    r = await b.run("network-reload");
    deepStrictEqual([r.code, r.out, r.calls], [0, "ok", ["networkctl reload"]]);
    strictEqual(
      await Deno.readTextFile(`${b.root}/etc/systemd/network/20-pbx-lan.network`),
      "[Match]\nName=ens3\n",
    );
    strictEqual(await Deno.readTextFile(`${b.root}/etc/hostname`), "pbx-office\n");

    // Revert: the staged file is gone, so is the installed one.
    await Deno.remove(`${b.stage}/etc/systemd/network/20-pbx-lan.network`);
    r = await b.run("network-reload");
    strictEqual(r.code, 0);
    let gone = false;
    try {
      Deno.statSync(`${b.root}/etc/systemd/network/20-pbx-lan.network`);
    } catch {
      gone = true;
    }
    ok(gone, "network file removed");
  } finally {
    await Deno.remove(b.dir, { recursive: true });
  }
});

Deno.test("pbx-helper refuses a staged symlink, bad names, a zone outside zoneinfo and unknown commands", async () => {
  const b = await box();
  try {
    await Deno.mkdir(`${b.stage}/etc/systemd/network`, { recursive: true });
    await Deno.writeTextFile(`${b.dir}/secret`, "root:x:0:0\n");
    Deno.symlinkSync(`${b.dir}/secret`, `${b.stage}/etc/systemd/network/20-pbx-lan.network`);
    let r = await b.run("network-reload");
    deepStrictEqual([r.code, r.out, r.calls], [
      1,
      "error: staged /etc/systemd/network/20-pbx-lan.network is a symlink",
      [],
    ]);

    r = await b.run("hostname evil;reboot");
    deepStrictEqual([r.code, r.calls], [1, []]);
    ok(r.out.startsWith("error: invalid hostname"), r.out);
    r = await b.run("hostname pbx-2");
    deepStrictEqual([r.code, r.calls], [0, ["hostname pbx-2"]]);
    r = await b.run("address-flush eth0/../x");
    deepStrictEqual([r.code, r.calls], [1, []]);
    r = await b.run("address-flush ens3");
    deepStrictEqual(r.calls, ["ip -4 address flush dev ens3 scope global"]);
    r = await b.run("network-reconfigure ens3 extra");
    deepStrictEqual([r.code, r.out], [1, "error: too many arguments for 'network-reconfigure'"]);

    await Deno.mkdir(`${b.stage}/etc`, { recursive: true });
    Deno.symlinkSync("/etc/shadow", `${b.stage}/etc/localtime`);
    r = await b.run("time-apply");
    deepStrictEqual([r.code, r.out], [
      1,
      "error: staged /etc/localtime does not point into /usr/share/zoneinfo",
    ]);
    await Deno.remove(`${b.stage}/etc/localtime`);
    Deno.symlinkSync("/usr/share/zoneinfo/Europe/Berlin", `${b.stage}/etc/localtime`);
    r = await b.run("time-apply");
    deepStrictEqual([r.code, r.calls], [0, ["systemctl try-restart systemd-timesyncd"]]);
    strictEqual(Deno.readLinkSync(`${b.root}/etc/localtime`), "/usr/share/zoneinfo/Europe/Berlin");

    r = await b.run("rm -rf");
    deepStrictEqual([r.code, r.out, r.calls], [1, "error: unknown command 'rm'", []]);
    r = await b.run("");
    strictEqual(r.code, 1);
  } finally {
    await Deno.remove(b.dir, { recursive: true });
  }
});

Deno.test("factory-reset marks the data dir and reboots; reboot and restart-pbx are fixed systemctl calls", async () => {
  const b = await box();
  try {
    let r = await b.run("factory-reset");
    deepStrictEqual([r.code, r.calls], [0, ["systemctl --no-block reboot"]]);
    ok(Deno.statSync(`${b.data}/.factory-reset`).isFile);
    r = await b.run("restart-pbx");
    deepStrictEqual(r.calls, ["systemctl --no-block restart pbx.service"]);
    r = await b.run("reboot");
    deepStrictEqual(r.calls, ["systemctl --no-block reboot"]);
  } finally {
    await Deno.remove(b.dir, { recursive: true });
  }
});

Deno.test("factory-etc puts the managed /etc files back to the image's and sets the hostname again", async () => {
  const b = await box();
  try {
    // The image's values (build.sh copies them to /usr/lib/pbx/factory).
    await Deno.mkdir(`${b.dir}/factory`);
    await Deno.writeTextFile(`${b.dir}/factory/hostname`, "pbx\n");
    await Deno.writeTextFile(`${b.dir}/factory/timezone`, "Etc/UTC\n");
    await Deno.symlink("/usr/share/zoneinfo/Etc/UTC", `${b.dir}/factory/localtime`);
    // What the admin set before the reset.
    await Deno.writeTextFile(`${b.root}/etc/hostname`, "pbx-office\n");
    await Deno.writeTextFile(`${b.root}/etc/timezone`, "Europe/Berlin\n");
    await Deno.symlink("/usr/share/zoneinfo/Europe/Berlin", `${b.root}/etc/localtime`);
    await Deno.writeTextFile(`${b.root}/etc/systemd/network/20-pbx-lan.network`, "[Match]\n");
    await Deno.mkdir(`${b.root}/etc/systemd/timesyncd.conf.d`);
    await Deno.writeTextFile(`${b.root}/etc/systemd/timesyncd.conf.d/50-pbx.conf`, "[Time]\n");
    // Another network file (the image's default) is not the helper's to remove.
    await Deno.writeTextFile(`${b.root}/etc/systemd/network/80-pbx-default.network`, "[Match]\n");
    const r = await b.run("factory-etc");
    deepStrictEqual([r.code, r.out, r.calls], [0, "ok", ["hostname pbx"]]);
    strictEqual(await Deno.readTextFile(`${b.root}/etc/hostname`), "pbx\n");
    strictEqual(await Deno.readTextFile(`${b.root}/etc/timezone`), "Etc/UTC\n");
    strictEqual(await Deno.readLink(`${b.root}/etc/localtime`), "/usr/share/zoneinfo/Etc/UTC");
    deepStrictEqual([...Deno.readDirSync(`${b.root}/etc/systemd/network`)].map((e) => e.name), [
      "80-pbx-default.network",
    ]);
    deepStrictEqual([...Deno.readDirSync(`${b.root}/etc/systemd/timesyncd.conf.d`)], []);
    // Without factory copies (the Yocto image: /etc is an overlay emptied before boot) it only
    // removes the managed files.
    await Deno.remove(`${b.dir}/factory`, { recursive: true });
    await Deno.writeTextFile(`${b.root}/etc/systemd/network/20-pbx-lan.network`, "[Match]\n");
    const again = await b.run("factory-etc");
    strictEqual(again.code, 0, again.out);
    strictEqual(await Deno.readTextFile(`${b.root}/etc/hostname`), "pbx\n");
    ok(!Deno.readDirSync(`${b.root}/etc/systemd/network`).some((e) => e.name === "20-pbx-lan.network"));
  } finally {
    await Deno.remove(b.dir, { recursive: true });
  }
});
