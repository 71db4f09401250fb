using PetsML.Tests.Support;
using PetsML.Trainers.Training;

namespace PetsML.Tests.Trainers.Training;

/// <summary>Atomic writes leave the old file or the whole new one; temporary files of killed runs are removed, those of running ones kept.</summary>
[TestClass]
public sealed class AtomicFileTests
{
    [TestMethod]
    public void A_failed_write_keeps_the_old_file_and_leaves_no_temporary_file()
    {
        using var temp = new TempFolder("petsml-atomic");
        var path = temp.Combine("model.zip");
        AtomicFile.Write(path, t => File.WriteAllText(t, "first"));
        Assert.AreEqual("first", File.ReadAllText(path));

        var full = new IOException("No space left on device", 28); // ENOSPC, as a full disk reports it
        var e = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, t => { File.WriteAllText(t, "half"); throw full; }));
        Assert.AreSame(full, e);
        Assert.AreEqual("first", File.ReadAllText(path), "the old file is untouched");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(temp.Path), "no temporary file is left");

        AtomicFile.Write(path, t => File.WriteAllText(t, "second"));
        Assert.AreEqual("second", File.ReadAllText(path));
    }

    [TestMethod]
    public void Stale_temporary_files_of_dead_processes_are_removed_and_others_kept()
    {
        using var temp = new TempFolder("petsml-atomic");
        var model = temp.Combine("model.zip");
        string Touch(string name) { var p = temp.Combine(name); File.WriteAllText(p, "x"); return p; }
        var dead = new[]
        {
            Touch(".model.zip.2147483000.tmp"),                     // this version's name, a process id nobody has
            Touch("model.zip.2147483001.tmp"),                      // the model's older name
            Touch(Path.GetFileName(AtomicFile.TemporaryPathFor(model))), // this process's own, left by an earlier run with the same id
        };
        var checkpointDead = Touch(".model.zip.checkpoint.0123456789abcdef0123456789abcdef.tmp"); // the checkpoint's older name
        var kept = new[]
        {
            Touch(".model.zip.1.tmp"),                // process 1 is running: maybe writing right now
            Touch("notes.tmp"), Touch("model.zip.backup.tmp"), Touch(".other.zip.2147483000.tmp"), Touch("model.zip"),
        };

        CollectionAssert.AreEquivalent(dead, AtomicFile.RemoveStale(model).ToList());
        CollectionAssert.AreEquivalent(new[] { checkpointDead }, AtomicFile.RemoveStale(model + ".checkpoint").ToList());
        CollectionAssert.AreEquivalent(kept, Directory.GetFiles(temp.Path));
    }
}
