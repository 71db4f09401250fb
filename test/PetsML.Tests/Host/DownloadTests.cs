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

    [TestMethod]
    public void Absolute_paths_and_links_pointing_outside_are_refused()
    {
        using var temp = new TempFolder("petsml-extract");
        var cases = new (string What, TarEntry Entry)[]
        {
            ("absolute", File("/tmp/petsml-evil", [1])),
            ("nested escape", File("a/../../evil", [1])),
            ("symlink out", new PaxTarEntry(TarEntryType.SymbolicLink, "a/link") { LinkName = "../../outside" }),
            ("absolute symlink", new PaxTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = "/etc" }),
            ("hard link out", new PaxTarEntry(TarEntryType.HardLink, "hard") { LinkName = "../outside" }),
        };
        foreach (var (what, entry) in cases)
        {
            var archive = temp.Combine($"{what}.tgz");
            System.IO.File.WriteAllBytes(archive, TarGz([File("ok.txt", [7]), entry]));
            var dest = temp.Combine($"out-{what}");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTarExtractor.ExtractTarGz(archive, dest), what);
            StringAssert.Contains(e.Message, "refused", what);
            Assert.IsFalse(Directory.Exists(dest), $"{what}: no destination folder");
        }
        Assert.IsFalse(System.IO.File.Exists("/tmp/petsml-evil"));
        Assert.AreEqual(0, Directory.GetDirectories(temp.Path).Length, "no temporary extraction folder is left");

        // A link that stays inside is fine.
        var fine = temp.Combine("fine.tgz");
        System.IO.File.WriteAllBytes(fine, TarGz([File("d/ok.txt", [7]), new PaxTarEntry(TarEntryType.SymbolicLink, "d/link") { LinkName = "ok.txt" }]));
        Assert.AreEqual(1, SafeTarExtractor.ExtractTarGz(fine, temp.Combine("fine")));
        CollectionAssert.AreEqual(new byte[] { 7 }, System.IO.File.ReadAllBytes(temp.Combine("fine", "d", "link")));
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
