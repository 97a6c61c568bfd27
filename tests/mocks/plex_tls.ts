/**
 * A throw-away certificate authority and a server certificate for
 * `127.0.0.1`, made with the `openssl` command, for HTTPS tests of the Plex
 * mock.
 *
 * @module
 */

import { join } from "node:path";

/** PEM files of a test CA and a `127.0.0.1` server certificate it signed. */
export interface TestCertificates {
  /** Folder holding the files; remove it when done. */
  dir: string;
  /** Path of the CA certificate (PEM). */
  caFile: string;
  /** Server certificate (PEM text). */
  cert: string;
  /** Server key (PEM text). */
  key: string;
}

async function _openssl(args: string[], cwd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Makes a CA and a server certificate in a new temp folder, or returns
 * undefined (and removes the folder) when `openssl` is not available.
 */
export async function makeTestCertificates(): Promise<TestCertificates | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "retrovue-plex-tls-" });
  const ok = await _openssl([
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem"],
    ...["-days", "2", "-subj", "/CN=RetroVue Test CA"],
  ], dir) &&
    await _openssl([
      ...["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr"],
      ...["-subj", "/CN=127.0.0.1"],
    ], dir) &&
    (await Deno.writeTextFile(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n"), true) &&
    await _openssl([
      ...["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key"],
      ...["-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf"],
    ], dir);
  if (!ok) {
    await Deno.remove(dir, { recursive: true });
    return undefined;
  }
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    cert: await Deno.readTextFile(join(dir, "srv.pem")),
    key: await Deno.readTextFile(join(dir, "srv.key")),
  };
}
