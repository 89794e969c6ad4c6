// AssemblyScript SDK for Gatehouse WebAssembly sign-in resolvers and
// profile transforms (ABI "authplug v1", ../../ABI.md).
//
// A module's entry file exports the ABI functions and hands its handler
// to the SDK; it never touches pointers:
//
//   import { Input, Result, resolveWith } from "<sdk>/assembly/authplug";
//   export function authplug_abi_v1(): void {}
//   export function authplug_resolve(n: i32): i32 { return resolveWith(n, resolve); }
//   function resolve(input: Input): Result { return Result.notFound("…"); }
//
// Build: asc entry.ts -O3 --runtime incremental --use abort= -o module.wasm
import { JSONValue, parse, quote, quoteList } from "./json";
export { JSONValue, parse, quote, quoteList } from "./json";

@external("authplug", "input_read")
declare function input_read(buf: usize, cap: i32): i32;
@external("authplug", "output_write")
declare function output_write(ptr: usize, len: i32): void;
@external("authplug", "log")
declare function host_log(level: i32, ptr: usize, len: i32): void;
@external("authplug", "catalog_find")
declare function catalog_find(q: usize, qn: i32, out: usize, cap: i32): i64;

export const STATUS_OK: i32 = 0;
export const STATUS_NOT_FOUND: i32 = 1;
export const STATUS_ERROR: i32 = 2;

// Profile is the Backstage user profile.
export class Profile {
  email: string = "";
  displayName: string = "";
  picture: string = "";

  toJSON(): string {
    return "{\"email\":" + quote(this.email) + ",\"displayName\":" + quote(this.displayName) +
      ",\"picture\":" + quote(this.picture) + "}";
  }
}

// Input is what a resolver or transform receives (ABI §4).
export class Input {
  provider: string = "";
  module: string = "";
  profile: Profile = new Profile();
  raw: JSONValue = new JSONValue();

  // claim returns a string claim from userinfo, else the ID token, or "".
  claim(name: string): string {
    const ui = this.raw.get("userinfo");
    if (ui != null && ui.isString(name)) return ui.str(name);
    const id = this.raw.get("idTokenClaims");
    if (id != null && id.isString(name)) return id.str(name);
    return "";
  }

  // claimStrings returns a list-of-strings claim from userinfo, else the ID token.
  claimStrings(name: string): Array<string> {
    const ui = this.raw.get("userinfo");
    if (ui != null && ui.get(name) != null) return ui.strings(name);
    const id = this.raw.get("idTokenClaims");
    if (id != null) return id.strings(name);
    return new Array<string>();
  }

  // config returns the module config (gatehouse.modules.<name>.config).
  config(): JSONValue {
    const c = this.raw.get("config");
    return c != null ? c : new JSONValue();
  }

  // options returns the signIn entry's options.
  options(): JSONValue {
    const c = this.raw.get("options");
    return c != null ? c : new JSONValue();
  }
}

// Result is a resolver's answer: ok, not found (next resolver) or error.
export class Result {
  status: i32 = STATUS_OK;
  entityRef: string = "";
  ownershipEntityRefs: Array<string> = new Array<string>();
  errorName: string = "";
  message: string = "";

  static ok(entityRef: string, ownershipEntityRefs: Array<string>): Result {
    const r = new Result();
    r.entityRef = entityRef;
    r.ownershipEntityRefs = ownershipEntityRefs;
    return r;
  }

  static notFound(message: string): Result {
    const r = new Result();
    r.status = STATUS_NOT_FOUND;
    r.message = message;
    return r;
  }

  // error fails the sign-in; name is a Backstage error name such as
  // "NotAllowedError" or "Error".
  static error(name: string, message: string): Result {
    const r = new Result();
    r.status = STATUS_ERROR;
    r.errorName = name;
    r.message = message;
    return r;
  }
}

// TransformResult is a transform's answer: a profile or an error.
export class TransformResult {
  profile: Profile = new Profile();
  failed: bool = false;
  errorName: string = "";
  message: string = "";

  static ok(p: Profile): TransformResult {
    const r = new TransformResult();
    r.profile = p;
    return r;
  }

  static error(name: string, message: string): TransformResult {
    const r = new TransformResult();
    r.failed = true;
    r.errorName = name;
    r.message = message;
    return r;
  }
}

function write(s: string): void {
  const b = String.UTF8.encode(s);
  output_write(changetype<usize>(b), b.byteLength);
}

function statusJSON(name: string, message: string): string {
  return "{\"name\":" + quote(name) + ",\"message\":" + quote(message) + "}";
}

function readInput(n: i32): Input | null {
  const buf = new ArrayBuffer(n);
  input_read(changetype<usize>(buf), n);
  const v = parse(String.UTF8.decode(buf));
  if (v == null) return null;
  const input = new Input();
  input.raw = v;
  input.provider = v.str("provider");
  input.module = v.str("module");
  const p = v.get("profile");
  if (p != null) {
    input.profile.email = p.str("email");
    input.profile.displayName = p.str("displayName");
    input.profile.picture = p.str("picture");
  }
  return input;
}

// resolveWith runs a resolver for authplug_resolve(n).
export function resolveWith(n: i32, fn: (input: Input) => Result): i32 {
  const input = readInput(n);
  if (input == null) {
    write(statusJSON("Error", "authplug: input is not JSON"));
    return STATUS_ERROR;
  }
  const r = fn(input);
  if (r.status == STATUS_OK) {
    write("{\"entityRef\":" + quote(r.entityRef) + ",\"ownershipEntityRefs\":" + quoteList(r.ownershipEntityRefs) + "}");
  } else if (r.status == STATUS_NOT_FOUND) {
    write("{\"message\":" + quote(r.message) + "}");
  } else {
    write(statusJSON(r.errorName, r.message));
  }
  return r.status;
}

// transformWith runs a transform for authplug_transform(n).
export function transformWith(n: i32, fn: (input: Input) => TransformResult): i32 {
  const input = readInput(n);
  if (input == null) {
    write(statusJSON("Error", "authplug: input is not JSON"));
    return STATUS_ERROR;
  }
  const r = fn(input);
  if (r.failed) {
    write(statusJSON(r.errorName, r.message));
    return STATUS_ERROR;
  }
  write("{\"profile\":" + r.profile.toJSON() + "}");
  return STATUS_OK;
}

// log writes a line to Gatehouse's log (0 debug, 1 info, 2 warn, 3 error).
export function log(level: i32, message: string): void {
  const b = String.UTF8.encode(message);
  host_log(level, changetype<usize>(b), b.byteLength);
}

// CatalogUser is a catalog_find answer: either a user or an error.
export class CatalogUser {
  found: bool = false;
  entityRef: string = "";
  ownershipEntityRefs: Array<string> = new Array<string>();
  entity: JSONValue = new JSONValue();
  errorName: string = "";
  message: string = "";
}

// findUser runs a catalog query, e.g. {"filter":[{"spec.profile.email":"…"}]}
// (build it with quote()). A miss has errorName "NotFoundError".
export function findUser(queryJSON: string): CatalogUser {
  const out = new CatalogUser();
  const q = String.UTF8.encode(queryJSON);
  let cap: i32 = 4096;
  for (let attempt = 0; attempt < 2; attempt++) {
    const buf = new ArrayBuffer(cap);
    const n = catalog_find(changetype<usize>(q), q.byteLength, changetype<usize>(buf), cap);
    if (n < 0) {
      out.errorName = "Error";
      out.message = "catalog lookup failed (code " + n.toString() + ")";
      return out;
    }
    if (<i32>n > cap) { cap = <i32>n; continue; }
    const v = parse(String.UTF8.decode(buf.slice(0, <i32>n)));
    if (v == null) break;
    const e = v.get("error");
    if (e != null) {
      out.errorName = e.str("name");
      out.message = e.str("message");
      return out;
    }
    out.found = true;
    out.entityRef = v.str("entityRef");
    out.ownershipEntityRefs = v.strings("ownershipEntityRefs");
    const ent = v.get("entity");
    if (ent != null) out.entity = ent;
    return out;
  }
  out.errorName = "Error";
  out.message = "catalog answer could not be read";
  return out;
}
