/** Test helper: a throw-away certificate for the TLS tests. */
const dec = new TextDecoder();

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made once with the openssl CLI (the
 * appliance uses its own CA; the transport only needs some certificate and key).
 */
export async function makeTestCertificate(): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sip-tls-test-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ], // deno-fmt-ignore
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`openssl req failed: ${dec.decode(out.stderr)}`);
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
