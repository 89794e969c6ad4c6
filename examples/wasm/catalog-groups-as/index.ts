// catalog-groups-as is an AssemblyScript sign-in resolver: it finds the
// user in the catalog by profile email (through the catalog host call) and
// adds ownership of every group named in the group_names claim.
//
// Config (gatehouse.modules.<name>.config):
//   groupNamespace: default   # namespace of the group refs
//
// Build (make examples): asc index.ts -O3 --runtime incremental --use abort= -o catalog-groups.wasm
import { Input, Result, findUser, quote, resolveWith } from "../../../wasm-sdk/assemblyscript/assembly/authplug";

export function authplug_abi_v1(): void {}

export function authplug_resolve(n: i32): i32 {
  return resolveWith(n, resolve);
}

function resolve(input: Input): Result {
  const email = input.profile.email;
  if (email.length == 0) return Result.notFound("the profile has no email");
  const u = findUser("{\"filter\":[{\"spec.profile.email\":" + quote(email) + "}]}");
  if (!u.found) {
    if (u.errorName == "NotFoundError") return Result.notFound(u.message);
    return Result.error(u.errorName, u.message);
  }
  let ns = input.config().str("groupNamespace");
  if (ns.length == 0) ns = "default";
  const refs = u.ownershipEntityRefs;
  const groups = input.claimStrings("group_names");
  for (let i = 0; i < groups.length; i++) {
    const ref = "group:" + ns.toLowerCase() + "/" + groups[i].toLowerCase();
    if (groups[i].length > 0 && !refs.includes(ref)) refs.push(ref);
  }
  return Result.ok(u.entityRef, refs);
}
