using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Host.Download;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host;

/// <summary><c>petsml download pets</c> against a local server serving archives built here.</summary>
[TestClass]
public sealed class DownloadTests
{
    const string ArchiveName = "oxford-iiit-pet.tgz";

    static readonly (string Name, byte[] Bytes)[] PetFiles =
    [
        ("oxford-iiit-pet/images/Abyssinian_1.jpg", Bytes(3000, 1)),
        ("oxford-iiit-pet/images/beagle_7.jpg", Bytes(70_000, 2)),
        ("oxford-iiit-pet/annotations/list.txt", Encoding.UTF8.GetBytes("Abyssinian_1 1 1 1\nbeagle_7 2 2 1\n")),
    ];

    static byte[] Bytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes); // incompressible, so the archive is large enough to cut in half
        return bytes;
    }

    static byte[] TarGz(IEnumerable<TarEntry> entries)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var entry in entries) tar.WriteEntry(entry);
        return memory.ToArray();
    }

    static TarEntry File(string name, byte[] bytes) => new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) };

    static byte[] PetsArchive() => TarGz(new TarEntry[] { new PaxTarEntry(TarEntryType.Directory, "oxford-iiit-pet/") }
        .Concat(PetFiles.Select(f => File(f.Name, f.Bytes))));

    static HostRunner.Result Download(string url, string dest, params string[] more) =>
        HostRunner.Run(["download", "pets", "--url", url, "--dest", dest, "--json", .. more]);

    static void AssertExtracted(string dest)
    {
        foreach (var (name, bytes) in PetFiles)
            CollectionAssert.AreEqual(bytes, System.IO.File.ReadAllBytes(Path.Combine(dest, name)), name);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void Downloads_checks_and_extracts_the_archive_into_the_cache()
    {
        using var temp = new TempFolder("petsml-download");
        var archive = PetsArchive();
        using var server = new LocalArchiveServer(archive, ArchiveName);
        var dest = temp.Combine("cache");
        var result = Download(server.Url, dest, "--sha256", Convert.ToHexStringLower(SHA256.HashData(archive)));
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        AssertExtracted(dest);
        var json = JsonDocument.Parse(result.Json).RootElement;
        Assert.AreEqual(Path.Combine(dest, "oxford-iiit-pet"), json.GetProperty("path").GetString());
        Assert.AreEqual(archive.Length, json.GetProperty("bytes").GetInt64());
        Assert.IsTrue(json.GetProperty("sha256Verified").GetBoolean());
        CollectionAssert.AreEqual(archive, System.IO.File.ReadAllBytes(Path.Combine(dest, ArchiveName)));
        Assert.IsFalse(System.IO.File.Exists(Path.Combine(dest, ArchiveName + ".part")));
        CollectionAssert.AreEquivalent(new[] { ArchiveName, "oxford-iiit-pet" }, Directory.GetFileSystemEntries(dest).Select(Path.GetFileName).ToList());

        // A second run finds the folder and does not download again.
        var again = Download(server.Url, dest);
        Assert.AreEqual(ExitCodes.Success, again.ExitCode, again.Error);
        Assert.AreEqual(1, server.Ranges.Count, "no second request");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void An_interrupted_download_resumes_with_a_range_request_and_ends_with_the_right_bytes()
    {
        using var temp = new TempFolder("petsml-download");
        var archive = PetsArchive();
        long half = archive.Length / 2;
        using var server = new LocalArchiveServer(archive, ArchiveName, cutFirstResponseAfter: half);
        var dest = temp.Combine("cache");
        var result = Download(server.Url, dest);
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        Assert.AreEqual("", server.Ranges[0], "the first request asks for everything");
        Assert.AreEqual($"bytes={half}-", server.Ranges[1], "the second continues after the bytes received");
        Assert.AreEqual(2, server.Ranges.Count);
        CollectionAssert.AreEqual(archive, System.IO.File.ReadAllBytes(Path.Combine(dest, ArchiveName)));
        Assert.AreEqual(Convert.ToHexStringLower(SHA256.HashData(archive)), JsonDocument.Parse(result.Json).RootElement.GetProperty("sha256").GetString());
        AssertExtracted(dest);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void A_part_left_by_an_earlier_run_is_continued_not_restarted()
    {
        using var temp = new TempFolder("petsml-download");
        var archive = PetsArchive();
        using var server = new LocalArchiveServer(archive, ArchiveName);
        var dest = temp.Combine("cache");
        Directory.CreateDirectory(dest);
        int third = archive.Length / 3;
        System.IO.File.WriteAllBytes(Path.Combine(dest, ArchiveName + ".part"), archive[..third]);
        var result = Download(server.Url, dest);
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        CollectionAssert.AreEqual(new[] { $"bytes={third}-" }, server.Ranges);
        CollectionAssert.AreEqual(archive, System.IO.File.ReadAllBytes(Path.Combine(dest, ArchiveName)));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void A_checksum_mismatch_is_reported_and_the_bad_file_is_not_kept()
    {
        using var temp = new TempFolder("petsml-download");
        using var server = new LocalArchiveServer(PetsArchive(), ArchiveName);
        var dest = temp.Combine("cache");
        var result = Download(server.Url, dest, "--sha256", new string('0', 64));
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "sha256 mismatch");
        StringAssert.Contains(result.Error, "expected " + new string('0', 64));
        Assert.AreEqual(0, Directory.GetFileSystemEntries(dest).Length, "neither the archive, its part nor a folder is left");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void An_archive_with_an_escaping_entry_is_refused_and_nothing_is_written()
    {
        using var temp = new TempFolder("petsml-download");
        var evil = TarGz([File("oxford-iiit-pet/images/Abyssinian_1.jpg", PetFiles[0].Bytes), File("../evil", Encoding.UTF8.GetBytes("pwned"))]);
        using var server = new LocalArchiveServer(evil, ArchiveName);
        var dest = temp.Combine("cache");
        var result = Download(server.Url, dest);
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "refused entry '../evil'");
        Assert.IsFalse(System.IO.File.Exists(temp.Combine("evil")), "nothing outside the cache");
        CollectionAssert.AreEqual(new[] { ArchiveName }, Directory.GetFileSystemEntries(dest).Select(Path.GetFileName).ToList(),
            "only the downloaded archive: no extracted folder, no temporary folder");
    }

    static TarEntry Link(TarEntryType type, string name, string target) => new PaxTarEntry(type, name) { LinkName = target };

    /// <summary>Every path under <paramref name="root"/> (relative, '/'-separated), links listed with their target and never followed.</summary>
    static List<string> Tree(string root)
    {
        var found = new List<string>();
        void Walk(string folder)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
                var link = new FileInfo(path).LinkTarget;
                if (link is not null) found.Add($"{relative} -> {link}");
                else if (Directory.Exists(path)) { found.Add(relative + "/"); Walk(path); }
                else found.Add(relative);
            }
        }
        Walk(root);
        return found;
    }

    /// <summary>
    /// The chain: on disk l is P, m is the extraction folder, n its parent (the cache) and o four levels above
    /// the cache (here the test's own folder, which holds a "secret"). Writing through n/ and o/ and hard-linking a file
    /// reached through o/ escaped with checks on path text only.
    /// </summary>
    static IEnumerable<TarEntry> LinkChain() =>
    [
        new PaxTarEntry(TarEntryType.Directory, "P/"),
        new PaxTarEntry(TarEntryType.Directory, "P/d/"),
        Link(TarEntryType.SymbolicLink, "P/d/l", ".."),
        Link(TarEntryType.SymbolicLink, "P/d/l/m", ".."),
        Link(TarEntryType.SymbolicLink, "P/d/l/n", "m/.."),
        Link(TarEntryType.SymbolicLink, "P/d/l/o", "n/../../../.."),
        File("P/d/l/n/escaped-into-cache.txt", [1]),
        File("P/d/l/o/escaped-outside.txt", [2]),
        Link(TarEntryType.HardLink, "P/d/stolen", "P/d/l/o/secret.txt"),
    ];

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void A_symlink_chain_with_a_refused_entry_after_it_writes_nothing_outside_and_leaves_no_folder()
    {
        using var temp = new TempFolder("petsml-download");
        var cache = temp.Combine("a", "b", "c", "cache");
        Directory.CreateDirectory(cache);
        System.IO.File.WriteAllText(temp.Combine("secret.txt"), "secret");
        System.IO.File.WriteAllBytes(Path.Combine(cache, ArchiveName), TarGz(LinkChain().Append(File("../refused-after", [3]))));
        var before = Tree(temp.Path);

        var result = HostRunner.Run(["download", "pets", "--dest", cache]); // the archive is there: no network

        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "refused entry 'P/d/l': a symbolic link (-> '..')", result.Error);
        CollectionAssert.AreEqual(before, Tree(temp.Path), "nothing added anywhere: not in the cache, not above it, no extracted or temporary folder");
    }

    [TestMethod]
    public void Link_chains_hard_links_and_special_entries_are_refused_before_anything_escapes()
    {
        using var temp = new TempFolder("petsml-extract");
        var parent = temp.Combine("a", "b", "c", "cache");
        Directory.CreateDirectory(parent);
        System.IO.File.WriteAllText(temp.Combine("secret.txt"), "secret");
        var cases = new (string What, TarEntry[] Entries, string Reason)[]
        {
            ("the link chain", LinkChain().ToArray(), "refused entry 'P/d/l': a symbolic link"),
            ("a symlink inside", [File("d/ok.txt", [7]), Link(TarEntryType.SymbolicLink, "d/link", "ok.txt")], "refused entry 'd/link': a symbolic link"),
            ("a hard link inside", [File("d/ok.txt", [7]), Link(TarEntryType.HardLink, "d/hard", "d/ok.txt")], "refused entry 'd/hard': a hard link"),
            ("a hard link out", [Link(TarEntryType.HardLink, "hard", "../secret.txt")], "refused entry 'hard': a hard link"),
            ("a character device", [new PaxTarEntry(TarEntryType.CharacterDevice, "d/null") { DeviceMajor = 1, DeviceMinor = 3 }], "refused entry 'd/null': type CharacterDevice"),
            ("a fifo", [new PaxTarEntry(TarEntryType.Fifo, "fifo")], "refused entry 'fifo': type Fifo"),
            ("an absolute path", [File("/tmp/petsml-evil", [1])], "refused entry '/tmp/petsml-evil': an absolute path"),
            ("a nested escape", [File("a/../../evil", [1])], "'..' in its path"),
            ("a drive letter", [File("C:evil", [1])], "a drive letter"),
            ("a backslash", [File("a\\..\\..\\evil", [1])], "a backslash"),
            ("the same path twice", [File("d/x", [1]), File("d/x", [2])], "a second entry with the same path"),
        };
        var before = Tree(temp.Path);
        foreach (var (what, entries, reason) in cases)
        {
            var archive = temp.Combine("archive.tgz");
            System.IO.File.WriteAllBytes(archive, TarGz(entries));
            var dest = Path.Combine(parent, "out");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTarExtractor.ExtractTarGz(archive, dest), what);
            StringAssert.StartsWith(e.Message, "archive.tgz: ", what);
            StringAssert.Contains(e.Message, reason, what);
            StringAssert.EndsWith(e.Message, "; nothing was extracted.", what);
            System.IO.File.Delete(archive);
            CollectionAssert.AreEqual(before, Tree(temp.Path), $"{what}: nothing added anywhere, no destination, no temporary folder");
        }
        Assert.IsFalse(System.IO.File.Exists("/tmp/petsml-evil"));
    }

    [TestMethod]
    public void An_archive_that_expands_past_its_size_limit_is_refused_after_writing_at_most_the_limit()
    {
        using var temp = new TempFolder("petsml-extract");
        // 4 MiB of zeros compress to a few KB: the 204 KB archive expanding to 200 MB, scaled down.
        var archive = temp.Combine("bomb.tgz");
        System.IO.File.WriteAllBytes(archive, TarGz([File("pets/small.jpg", new byte[1000]), File("pets/zeros.jpg", new byte[4 << 20])]));
        Assert.IsLessThan(64 * 1024L, new FileInfo(archive).Length);
        var limits = new ArchiveLimits { MaxBytes = 1 << 20 };

        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTarExtractor.ExtractTarGz(archive, temp.Combine("pets"), limits));
        StringAssert.Contains(e.Message, "refused entry 'pets/zeros.jpg': the archive expands to more than 1,048,576 bytes (the size limit)");
        CollectionAssert.AreEqual(new[] { "bomb.tgz" }, Tree(temp.Path));

        // Just enough passes.
        Assert.AreEqual(2, SafeTarExtractor.ExtractTarGz(archive, temp.Combine("pets"), limits with { MaxBytes = 1000 + (4 << 20) }));
        Assert.AreEqual(4 << 20, new FileInfo(temp.Combine("pets", "zeros.jpg")).Length);
    }

    [TestMethod]
    public void An_archive_with_more_entries_than_its_limit_is_refused()
    {
        using var temp = new TempFolder("petsml-extract");
        var archive = temp.Combine("many.tgz");
        System.IO.File.WriteAllBytes(archive, TarGz(Enumerable.Range(0, 101).Select(i => File($"pets/{i}.jpg", [(byte)i]))));
        var limits = new ArchiveLimits { MaxEntries = 100 };

        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTarExtractor.ExtractTarGz(archive, temp.Combine("pets"), limits));
        StringAssert.Contains(e.Message, "refused: more than 100 entries (the entry limit)");
        CollectionAssert.AreEqual(new[] { "many.tgz" }, Tree(temp.Path));

        Assert.AreEqual(101, SafeTarExtractor.ExtractTarGz(archive, temp.Combine("pets"), limits with { MaxEntries = 101 }));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void The_download_command_passes_its_limits_to_the_extraction()
    {
        using var temp = new TempFolder("petsml-download");
        var cache = temp.Combine("cache");
        Directory.CreateDirectory(cache);
        System.IO.File.WriteAllBytes(Path.Combine(cache, ArchiveName), PetsArchive());

        var result = HostRunner.Run(["download", "pets", "--dest", cache, "--max-extract-bytes", "10000"]);
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "more than 10,000 bytes (the size limit); nothing was extracted.");
        CollectionAssert.AreEqual(new[] { ArchiveName }, Tree(cache));

        result = HostRunner.Run(["download", "pets", "--dest", cache, "--max-entries", "3"]);
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "more than 3 entries (the entry limit)");
        CollectionAssert.AreEqual(new[] { ArchiveName }, Tree(cache));

        result = HostRunner.Run(["download", "pets", "--dest", cache, "--max-entries", "4"]);
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        AssertExtracted(cache);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void Offline_is_one_line_and_exit_code_1()
    {
        using var temp = new TempFolder("petsml-download");
        int port = LocalArchiveServer.FreePort(); // nobody listens there
        var result = Download($"http://127.0.0.1:{port}/{ArchiveName}", temp.Combine("cache"));
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        var lines = result.Error.Trim().Split('\n');
        StringAssert.StartsWith(lines[^1], "error: offline: could not reach 127.0.0.1 (", result.Error);
        Assert.AreEqual(1, lines.Count(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)), "one line, no stack trace: " + result.Error);
    }

    [TestMethod]
    public void The_cache_folder_follows_dest_then_PETSML_DATA_then_XDG_CACHE_HOME()
    {
        Assert.AreEqual(Path.GetFullPath("x"), DataCache.Resolve("x"));
        var saved = (Environment.GetEnvironmentVariable(DataCache.EnvironmentVariable), Environment.GetEnvironmentVariable("XDG_CACHE_HOME"));
        try
        {
            Environment.SetEnvironmentVariable(DataCache.EnvironmentVariable, null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/tmp/xdg");
            Assert.AreEqual("/tmp/xdg/petsml/data", DataCache.Resolve(null));
            Environment.SetEnvironmentVariable(DataCache.EnvironmentVariable, "/tmp/petsml-data");
            Assert.AreEqual("/tmp/petsml-data", DataCache.Resolve(null));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataCache.EnvironmentVariable, saved.Item1);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved.Item2);
        }
    }
}
