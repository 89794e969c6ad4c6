#!/usr/bin/env bash
# docker-steps: run the Dockerfile's steps without a Docker engine and prove
# that the image they make works.
#
# It interprets the small subset of Dockerfile the project's Dockerfile
# uses: FROM … AS, WORKDIR, ENV, COPY (context or --from=<stage>), RUN (one
# line), USER, EXPOSE, HEALTHCHECK … CMD [json], ENTRYPOINT/CMD [json]. The
# build stage runs on this machine's Go with its paths (/src, /out, …) mapped
# under a temporary directory; the final stage is assembled as a directory
# tree and then run with chroot as the image's USER:
#   - the binary is static (no ELF interpreter; CGO_ENABLED=0 in its build info);
#   - the WebAssembly modules are there and are WebAssembly;
#   - nothing in the image is owned by or requires root to run;
#   - ENTRYPOINT+CMD serves the auth routes and /metrics, /healthz, /readyz
#     on the EXPOSEd ports (moved to free ones), the HEALTHCHECK command
#     passes, and SIGTERM shuts it down cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DOCKERFILE=${DOCKERFILE:-Dockerfile}
WORK=$(mktemp -d /tmp/gatehouse-docker-steps.XXXXXX)
KEEP=${KEEP:-}
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill "$PID"; fi
	if [ -z "$KEEP" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
say() { printf '\033[1mdocker-steps:\033[0m %s\n' "$*"; }
fail() { printf 'docker-steps: FAILED: %s\n' "$*" >&2; exit 1; }

declare -A STAGE_ROOT
stage= root= cwd=/ user= entry= cmd= health= expose=

# mapped turns an absolute path of the current stage into a host path.
mapped() { case "$1" in /*) echo "$root$1" ;; *) echo "$root$cwd/$1" ;; esac; }

# json_args turns ["a", "b"] into a bash array declaration.
json_args() { python3 -c 'import json,sys,shlex; print(" ".join(shlex.quote(a) for a in json.loads(sys.argv[1])))' "$1"; }

copy_context() { # copy the build context (minus .dockerignore) into $1
	mkdir -p "$1"
	local excludes=()
	if [ -f .dockerignore ]; then
		while IFS= read -r l; do
			[ -z "$l" ] || [[ $l == \#* ]] && continue
			excludes+=("--exclude=./${l#\*\*/}")
			excludes+=("--exclude=${l#\*\*/}")
		done < .dockerignore
	fi
	tar -C "$REPO" "${excludes[@]}" -cf - . | tar -C "$1" -xf -
}

while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	[[ -z ${line// } || $line == \#* ]] && continue
	instr=${line%% *} rest=${line#* }
	case "${instr^^}" in
	FROM)
		name=${rest##* [Aa][Ss] }
		[ "$name" = "$rest" ] && name=final
		stage=$name root=$WORK/$name cwd=/
		mkdir -p "$root"
		STAGE_ROOT[$stage]=$root
		say "stage $stage (FROM ${rest%% *})"
		;;
	WORKDIR) cwd=$rest; mkdir -p "$(mapped "$cwd")" ;;
	ENV) export "${rest%%=*}=${rest#*=}" ;;
	USER) user=$rest ;;
	EXPOSE) expose=$rest ;;
	ENTRYPOINT) entry=$(json_args "$rest") ;;
	CMD) cmd=$(json_args "$rest") ;;
	HEALTHCHECK) health=$(json_args "${rest#* CMD }") ;;
	COPY)
		read -r -a parts <<<"$rest"
		from= chown=
		while [[ ${parts[0]} == --* ]]; do
			case ${parts[0]} in
			--from=*) from=${parts[0]#--from=} ;;
			--chown=*) chown=${parts[0]#--chown=} ;;
			*) fail "unsupported COPY flag ${parts[0]}" ;;
			esac
			parts=("${parts[@]:1}")
		done
		dst=${parts[-1]} srcs=("${parts[@]:0:${#parts[@]}-1}")
		if [ -z "$from" ] && [ "${srcs[*]}" = "." ]; then
			copy_context "$(mapped "$dst")"
		else
			for s in "${srcs[@]}"; do
				if [ -n "$from" ]; then src=${STAGE_ROOT[$from]}$s; else src=$REPO/$s; fi
				d=$(mapped "$dst")
				if [ -d "$src" ]; then
					mkdir -p "$d"
					cp -a "$src/." "$d/"
				elif [[ $dst == */ ]]; then
					mkdir -p "$d"
					cp -a "$src" "$d"
				else
					mkdir -p "$(dirname "$d")"
					cp -a "$src" "$d"
				fi
				if [ -n "$chown" ]; then chown -R "$chown" "$d"; fi
			done
		fi
		say "COPY $rest"
		;;
	RUN)
		# Absolute paths of the stage (/out, /src, …) live under its root.
		run=$(sed -E "s#(^|[ =])/(out|src)([/ ]|\$)#\\1$root/\\2\\3#g" <<<"$rest")
		say "RUN $rest"
		(cd "$(mapped "$cwd")" && bash -euo pipefail -c "$run") || fail "RUN $rest"
		;;
	*) fail "unsupported instruction: $instr" ;;
	esac
done < "$DOCKERFILE"

R=${STAGE_ROOT[final]:-$root}
bin=$R/usr/local/bin/gatehouse
say "image tree: $(cd "$R" && find . -type f | wc -l) files, $(du -sh "$R" | cut -f1)"

# 1. static, CGO off.
[ -x "$bin" ] || fail "no binary at /usr/local/bin/gatehouse"
if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then fail "the binary is dynamically linked"; fi
go version -m "$bin" | grep -q 'CGO_ENABLED=0' || fail "the binary was not built with CGO_ENABLED=0"
say "binary is static: $(file -b "$bin" | cut -d, -f1-2), CGO_ENABLED=0"

# 2. modules.
n=0
for m in "$R"/usr/share/gatehouse/modules/*.wasm; do
	[ -f "$m" ] || continue
	[ "$(head -c4 "$m" | od -An -tx1 | tr -d ' ')" = "0061736d" ] || fail "$m is not WebAssembly"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no WebAssembly modules in /usr/share/gatehouse/modules"
say "$n WebAssembly modules: $(cd "$R"/usr/share/gatehouse/modules && echo *.wasm)"

# 3. non-root.
[ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] || fail "USER is '$user', not a non-root user"
say "runs as USER $user; EXPOSE $expose"

# 4. run it: the config a deployment would mount, on free ports.
# in_image runs a command in the image tree as USER in WORKDIR, as Docker
# would (GNU chroot cannot keep a working directory other than /).
in_image() {
	exec python3 -c 'import os, sys
root, cwd, user = sys.argv[1:4]
uid, _, gid = user.partition(":")
os.chroot(root); os.chdir(cwd)
os.setgroups([]); os.setgid(int(gid or uid)); os.setuid(int(uid))
os.execv(sys.argv[4], sys.argv[4:])' "$R" "$cwd" "$user" "$@"
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AUTH=$(freeport) METRICS=$(freeport)
cat > "$R/etc/gatehouse/app-config.yaml" <<YAML
app: {baseUrl: http://localhost:3000}
backend:
  baseUrl: http://127.0.0.1:$AUTH
  listen: {host: 127.0.0.1, port: $AUTH}
auth:
  session: {secret: docker-steps-session-secret}
catalog:
  locations:
    - {type: file, target: /etc/gatehouse/examples-dev/catalog.yaml}
gatehouse:
  metrics: {listen: "127.0.0.1:$METRICS"}
  shutdown: {gracePeriod: {seconds: 5}}
  logging: {format: json}
YAML
eval "args=($entry $cmd)"
say "starting: ${args[*]} as $user in $cwd (chroot)"
in_image "${args[@]}" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$METRICS/healthz" >/dev/null 2>&1 && break
	kill -0 $PID 2>/dev/null || { cat "$WORK/serve.log"; fail "the server exited"; }
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$METRICS/readyz" || { cat "$WORK/serve.log"; fail "/readyz"; }
echo
metrics=$(curl -fsS "http://127.0.0.1:$METRICS/metrics") || fail "/metrics"
grep -q '^gatehouse_build_info' <<<"$metrics" || fail "/metrics has no gatehouse_build_info"
discovery=$(curl -fsS "http://127.0.0.1:$AUTH/api/auth/.well-known/openid-configuration") || fail "the auth routes do not answer"
grep -q '"issuer"' <<<"$discovery" || fail "the discovery document has no issuer"
say "auth routes on :$AUTH, /metrics /healthz /readyz on :$METRICS"
eval "hc=($health)"
hc=("${hc[@]//9464/$METRICS}")
(in_image "${hc[@]}") || fail "HEALTHCHECK ${hc[*]}"
say "HEALTHCHECK passes"
kill -TERM $PID
for _ in $(seq 100); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
if kill -0 $PID 2>/dev/null; then fail "still running 10 s after SIGTERM"; fi
wait $PID && rc=0 || rc=$?
PID=
[ "$rc" = 0 ] || { cat "$WORK/serve.log"; fail "exit code $rc after SIGTERM"; }
grep -q '"shutdown complete"' "$WORK/serve.log" || { cat "$WORK/serve.log"; fail "no clean shutdown in the log"; }
say "SIGTERM: clean shutdown, exit 0"
say "OK"
