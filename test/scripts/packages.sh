#!/usr/bin/env bash
# The packages as an app outside this repository uses them (run by .ci/run after the test suite):
#   1. dotnet pack -c Release into a temporary folder feed, with no warning;
#   2. every package's .nuspec has id, version, authors, description, license, readme and repository;
#      PetsML.Trainers does not depend on Microsoft.ML.OnnxRuntime (only PetsML.Onnx does);
#   3. samples/DropIn, copied out of the repository, restores PetsML from that feed alone (PetsML's packages
#      land in a fresh packages folder; other packages come from the machine's NuGet cache, used read-only as a
#      fallback folder without any PetsML entry, or from nuget.org), builds with no warning, trains and predicts;
#   3b. the same app restored on ML.NET 6.0.0 (-p:MlNetVersion=6.0.0; 3. uses the 5.0.1 floor) builds and runs;
#   4. dotnet publish of the same app runs from the publish folder (on Debian 12 this proves the runtime
#      package's native fix applies to publish output);
#   5. the app without libtorch stops with the message naming the runtime package to add;
#   6. samples/WebApi (ASP.NET Core + PetsML.Serving) builds from the same feed with no warning, trains a tiny model on
#      shapes it draws, listens on 127.0.0.1 and answers one real POST /predict with the right label.
# Ends with "package checks: N passed, N failed"; exits non-zero when a check failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0; failed=0
pass() { echo "PASS packages: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL packages: $1"; failed=$((failed + 1)); }
finish() { echo "package checks: ${passed} passed, ${failed} failed"; [ "$failed" -eq 0 ]; exit $?; }
start=$SECONDS

# 1. Pack.
feed="$work/feed"
if dotnet pack "$repo/PetsML.sln" -c Release -nologo -p:PackageOutputPath="$feed/" > "$work/pack.log" 2>&1; then
  if grep -qE ": warning [A-Z]+[0-9]+" "$work/pack.log"; then
    fail "dotnet pack printed warnings:"; grep -E ": warning [A-Z]+[0-9]+" "$work/pack.log" | sort -u
  else pass "dotnet pack -c Release made $(ls "$feed"/*.nupkg | wc -l) packages with no warning"; fi
else
  fail "dotnet pack failed:"; tail -30 "$work/pack.log"; finish
fi
echo "  pack: $((SECONDS - start)) s"

# 2. Metadata that applies to unsigned packages (dotnet nuget verify checks signatures only).
version=$(unzip -p "$feed"/PetsML.Trainers.*.nupkg PetsML.Trainers.nuspec | sed -nE 's:.*<version>([^<]+)</version>.*:\1:p')
missing=""
for id in PetsML.Transforms PetsML.Trainers PetsML.Serving PetsML.Onnx PetsML.Runtime.Cpu.linux-x64 PetsML.Runtime.Cpu.win-x64 \
          PetsML.Runtime.Cpu.osx-arm64 PetsML.Runtime.Cuda.linux-x64 PetsML.Runtime.Cuda.win-x64; do
  nupkg="$feed/$id.$version.nupkg"
  if [ ! -f "$nupkg" ]; then missing+=" $id(no package)"; continue; fi
  nuspec=$(unzip -p "$nupkg" "$id.nuspec")
  for pattern in "<id>$id</id>" "<version>$version</version>" "<authors>[^<]+</authors>" "<description>[^<]+</description>" \
                 '<license type="expression">MIT</license>' "<readme>README.md</readme>" \
                 '<repository type="git" url="https://[^"]+" [^>]*commit="[0-9a-f]{40}"'; do
    grep -qE "$pattern" <<< "$nuspec" || missing+=" $id($pattern)"
  done
  unzip -l "$nupkg" README.md > /dev/null || missing+=" $id(README.md file)"
done
for id in PetsML.Transforms PetsML.Trainers PetsML.Serving PetsML.Onnx; do
  unzip -l "$feed/$id.$version.nupkg" "lib/net10.0/$id.xml" > /dev/null || missing+=" $id(XML docs)"
  [ -f "$feed/$id.$version.snupkg" ] || missing+=" $id(snupkg)"
done
if [ -z "$missing" ]; then pass "metadata of every package (version $version)"; else fail "metadata missing:$missing"; fi
# ONNX Runtime (native, about 80 MB a platform) comes only with PetsML.Onnx, never with the trainer.
if unzip -p "$feed/PetsML.Trainers.$version.nupkg" PetsML.Trainers.nuspec | grep -q 'id="Microsoft.ML.OnnxRuntime"'; then
  fail "PetsML.Trainers depends on Microsoft.ML.OnnxRuntime (only PetsML.Onnx should)"
else pass "PetsML.Trainers does not depend on Microsoft.ML.OnnxRuntime"; fi

# 3. The sample app, outside the repository, from the feed alone for PetsML.
app="$work/samples"
cp -r "$repo/samples" "$app"
rm -rf "$app"/*/bin "$app"/*/obj
cache=$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: //')
fallback="$work/fallback"; mkdir -p "$fallback"
for dir in "$cache"*/; do
  name=$(basename "$dir")
  case "$name" in petsml.*) ;; *) ln -s "${dir%/}" "$fallback/$name" ;; esac
done
cat > "$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config>
    <add key="globalPackagesFolder" value="$work/packages" />
  </config>
  <packageSources>
    <clear />
    <add key="petsml-feed" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="petsml-feed"><package pattern="PetsML.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
  <fallbackPackageFolders>
    <clear />
    <add key="machine-cache" value="$fallback" />
  </fallbackPackageFolders>
</configuration>
XML
step=$SECONDS
if dotnet build "$app/DropIn" -c Release -nologo -p:PetsMLVersion="$version" > "$work/build.log" 2>&1; then
  if grep -qE ": warning [A-Z]+[0-9]+" "$work/build.log"; then
    fail "the sample's build printed warnings:"; grep -E ": warning [A-Z]+[0-9]+" "$work/build.log" | sort -u
  elif [ ! -d "$work/packages/petsml.trainers/$version" ]; then
    fail "PetsML.Trainers did not come from the feed into the fresh packages folder"
  else pass "the sample restores PetsML $version from the feed and builds with no warning"; fi
else
  fail "the sample does not build:"; grep -E "error|warning" "$work/build.log" | sort -u | tail -20; finish
fi
echo "  sample restore and build: $((SECONDS - step)) s"

# The app prints "error_rate 0.0833" and "predicted circle_0.png: circle (97.0%)" for one new image per shape.
check_run() { # $1 what, $2 log
  local correct
  correct=$(grep -cE "^predicted ([a-z]+)_[0-9]+\.png: \1 " "$2")
  if grep -qE "^error_rate 0\.[0-3]" "$2" && [ "$correct" -ge 2 ]; then
    pass "$1: $(grep -E '^error_rate' "$2"), $correct of 3 new images right"
  else
    fail "$1 did not learn or predict:"; tail -20 "$2"
  fi
}
step=$SECONDS
out="$app/DropIn/bin/Release/net10.0"
if (cd "$work" && timeout 600 dotnet "$out/DropIn.dll" "$work/run-build") > "$work/run.log" 2>&1; then
  check_run "the sample trains and predicts from its build output" "$work/run.log"
else fail "the sample failed from its build output:"; tail -20 "$work/run.log"; fi
echo "  sample run: $((SECONDS - step)) s"

# 3b. The same app on ML.NET 6.0.0 (PetsML's floor is 5.0.1, which the build above used): a copy of the sample
#     restored with -p:MlNetVersion=6.0.0, built and run from its own output.
step=$SECONDS
app6="$work/samples-mlnet6"
cp -r "$app" "$app6"
rm -rf "$app6"/*/bin "$app6"/*/obj
if dotnet build "$app6/DropIn" -c Release -nologo -p:PetsMLVersion="$version" -p:MlNetVersion=6.0.0 > "$work/build6.log" 2>&1; then
  if grep -qE ": warning [A-Z]+[0-9]+" "$work/build6.log"; then
    fail "the sample's build on ML.NET 6.0.0 printed warnings:"; grep -E ": warning [A-Z]+[0-9]+" "$work/build6.log" | sort -u
  elif ! grep -q '"Microsoft.ML/6.0.0"' "$app6/DropIn/bin/Release/net10.0/DropIn.deps.json"; then
    fail "the sample built with -p:MlNetVersion=6.0.0 does not use Microsoft.ML 6.0.0"
  elif (cd "$work" && timeout 600 dotnet "$app6/DropIn/bin/Release/net10.0/DropIn.dll" "$work/run-mlnet6") > "$work/run6.log" 2>&1; then
    check_run "the sample on ML.NET 6.0.0 trains and predicts" "$work/run6.log"
  else fail "the sample on ML.NET 6.0.0 failed:"; tail -20 "$work/run6.log"; fi
else
  fail "the sample does not build on ML.NET 6.0.0:"; grep -E "error|warning" "$work/build6.log" | sort -u | tail -20
fi
echo "  sample on ML.NET 6.0.0: $((SECONDS - step)) s"

# 4. Publish and run from the publish folder.
step=$SECONDS
if dotnet publish "$app/DropIn" -c Release -nologo -p:PetsMLVersion="$version" -o "$work/publish" > "$work/publish.log" 2>&1 \
   && (cd "$work" && timeout 600 "$work/publish/DropIn" "$work/run-publish") > "$work/run-publish.log" 2>&1; then
  check_run "the published sample trains and predicts" "$work/run-publish.log"
else fail "the published sample failed:"; tail -n 20 "$work/publish.log" "$work/run-publish.log"; fi
echo "  publish and run: $((SECONDS - step)) s"

# 5. Without libtorch: the build output minus libtorch's own libraries (TorchSharp's wrapper stays).
bare="$work/bare"
cp -r "$out" "$bare"
find "$bare" -name 'libtorch*' -delete
# (NUGET_PACKAGES: TorchSharp would otherwise look for libtorch in the machine's NuGet cache.)
if (cd "$work" && NUGET_PACKAGES="$work/no-packages" timeout 120 dotnet "$bare/DropIn.dll" "$work/run-bare") > "$work/run-bare.log" 2>&1; then
  fail "the sample ran without libtorch"
elif grep -q "dotnet add package PetsML.Runtime.Cpu.linux-x64" "$work/run-bare.log"; then
  pass "without libtorch the app says which package to add"
else fail "without libtorch the message does not name the package:"; tail -20 "$work/run-bare.log"; fi

# 6. The web sample: build, start on a free loopback port, one real request.
step=$SECONDS
web="$work/web"; mkdir -p "$web"
if dotnet build "$app/WebApi" -c Release -nologo -p:PetsMLVersion="$version" > "$work/web-build.log" 2>&1; then
  if grep -qE ": warning [A-Z]+[0-9]+" "$work/web-build.log"; then
    fail "the web sample's build printed warnings:"; grep -E ": warning [A-Z]+[0-9]+" "$work/web-build.log" | sort -u
  else
    (cd "$web" && exec timeout 900 dotnet "$app/WebApi/bin/Release/net10.0/WebApi.dll" --urls http://127.0.0.1:0) > "$work/web-run.log" 2>&1 &
    webpid=$!
    url=""
    for _ in $(seq 1 600); do  # training a tiny model first: up to 10 minutes
      url=$(sed -nE 's/.*Now listening on: (http:\/\/127\.0\.0\.1:[0-9]+).*/\1/p' "$work/web-run.log" | head -1)
      [ -n "$url" ] && break
      kill -0 "$webpid" 2>/dev/null || break
      sleep 1
    done
    if [ -z "$url" ]; then
      fail "the web sample did not start listening:"; tail -20 "$work/web-run.log"
    else
      answers=""; right=0
      for shape in disc square triangle; do
        answer=$(curl -sS --max-time 60 -X POST --data-binary "@$web/shapes/${shape}_1.jpg" "$url/predict")
        answers+="$shape: $answer; "
        grep -q "\"label\":\"$shape\"" <<< "$answer" && right=$((right + 1))
      done
      bad=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}' -X POST --data-binary 'not a photo' "$url/predict")
      if [ "$right" -ge 2 ] && [ "$bad" = "400" ]; then
        pass "the web sample builds from the feed, trains, listens on $url and answers POST /predict ($right of 3 shapes right; text upload: $bad)"
      else fail "the web sample answered $answers(text upload: $bad):"; tail -20 "$work/web-run.log"; fi
    fi
    kill "$webpid" 2>/dev/null; wait "$webpid" 2>/dev/null
  fi
else fail "the web sample does not build:"; grep -E "error|warning" "$work/web-build.log" | sort -u | tail -20; fi
echo "  web sample: $((SECONDS - step)) s"

echo "  packages total: $((SECONDS - start)) s"
finish
