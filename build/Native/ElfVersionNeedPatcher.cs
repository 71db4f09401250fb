// Why this file exists
// --------------------
// TorchSharp 0.107.0's libLibTorchSharp.so was linked with GCC 13 and asks libstdc++ for the
// symbol version GLIBCXX_3.4.32. Debian 12 and Ubuntu 22.04 ship libstdc++ up to 3.4.30, so the
// loader refuses the library and every torch call fails with a misleading TypeInitializationException.
// The only symbol tagged 3.4.32 is std::ios_base_library_init(), referenced by a bare .globl with
// no relocation, so nothing ever calls it. Marking that version requirement WEAK (VER_FLG_WEAK,
// 0x2, in the .gnu.version_r section) makes glibc accept the older libstdc++.
//
// This task edits only the copy in a build or publish output folder (never the NuGet cache), and
// only when the machine's libstdc++ lacks the version. It is idempotent: an already weak entry is
// left alone. Checked against TorchSharp 0.107.0 (linux-x64). When it can be deleted, and the opt-out property:
// PatchLibTorchSharp.targets.
//
// It is compiled by MSBuild's RoslynCodeTaskFactory (see PatchLibTorchSharp.targets), so it must
// stay a single self-contained file using only the BCL and Microsoft.Build.Framework.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class ElfVersionNeedPatcher : Task
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    /// <summary>Shared libraries to patch (missing files are ignored).</summary>
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The symbol version to make weak, e.g. GLIBCXX_3.4.32.</summary>
    [Required] public string Version { get; set; } = "";

    /// <summary>Where to look for the system libstdc++; the first existing file decides.</summary>
    public string[] SystemLibraries { get; set; } = new[]
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6",
        "/usr/lib/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
    };

    public override bool Execute()
    {
        if (SystemProvides(Version))
        {
            Log.LogMessage(MessageImportance.Low, $"System libstdc++ provides {Version}; nothing to patch.");
            return true;
        }
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                var result = MakeVersionWeak(path, Version);
                Log.LogMessage(MessageImportance.Normal, $"{path}: {result}");
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogError($"Could not patch {path} ({Version} -> weak): {e.Message}");
                return false;
            }
        }
        return true;
    }

    bool SystemProvides(string version)
    {
        foreach (var lib in SystemLibraries)
        {
            if (!File.Exists(lib)) continue;
            var bytes = File.ReadAllBytes(lib);
            return IndexOf(bytes, Encoding.ASCII.GetBytes(version + "\0")) >= 0;
        }
        return false; // no libstdc++ found where expected: patching is harmless, so patch.
    }

    static string MakeVersionWeak(string path, string version)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 24);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 40);
            int count = (int)BitConverter.ToUInt32(elf, (int)sh + 44);
            long strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + (long)link * shentsize) + 24);

            long need = offset;
            for (int n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    uint name = BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadString(elf, strtab + name) == version)
                    {
                        if ((flags & VerFlagWeak) != 0) return $"{version} already weak";
                        var patched = BitConverter.GetBytes((ushort)(flags | VerFlagWeak));
                        // Write to a temporary file and move it over, so a failure never leaves a half-written library.
                        elf[aux + 4] = patched[0];
                        elf[aux + 5] = patched[1];
                        var tmp = path + ".patching";
                        File.WriteAllBytes(tmp, elf);
                        File.Copy(tmp, path, true); // netstandard2.0 (the task factory's target) has no Move-with-overwrite
                        File.Delete(tmp);
                        return $"{version} marked weak";
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                need += BitConverter.ToUInt32(elf, (int)need + 12);
            }
        }
        return $"{version} not required; left unchanged (this TorchSharp may no longer need build/Native: see PatchLibTorchSharp.targets)";
    }

    static string ReadString(byte[] bytes, long start)
    {
        long end = start;
        while (end < bytes.Length && bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, (int)start, (int)(end - start));
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
