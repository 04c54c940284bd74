/**
 * Certificates for TLS tests, made fresh by `openssl`: a private certificate authority, and a
 * server certificate it signs for `localhost` and 127.0.0.1.
 */

/** PEM text of a test CA and of a server certificate and key it signed. */
export interface TestCertificates {
  /** The CA's certificate: what a client must trust. */
  ca: string;
  /** The server's certificate chain. */
  cert: string;
  /** The server's private key. */
  key: string;
  /** A directory holding them as `ca.pem`, `cert.pem` and `key.pem`, for command lines. */
  dir: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", { args, cwd, stderr: "piped" })
    .output();
  if (code !== 0) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
}

/** Makes a CA and a server certificate (EC P-256, valid for a day) in a new temporary directory. */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "wsd-tls-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=wsd test CA",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    "key.pem",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca-key.pem",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  ], dir);
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  return {
    ca: await read("ca.pem"),
    cert: await read("cert.pem"),
    key: await read("key.pem"),
    dir,
  };
}
