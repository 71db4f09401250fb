using System.Diagnostics;
using System.Text;
using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Review;
using PetsML.Tests.Serving;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host.Review;

/// <summary>
/// A real <c>petsml review</c> process killed in the middle of an apply (it halts after N journal lines and moves, and
/// the test kills it there): every change is before or after, the journal says which once the next start or undo has
/// looked, and <c>--undo</c> puts back every byte.
/// </summary>
[TestClass]
public sealed class ReviewKillTests
{
    static ServedModels s_models = null!;

    [ClassInitialize]
    public static void TrainModel(TestContext _) => s_models = new ServedModels(both: false);

    [ClassCleanup]
    public static void DeleteModel() => s_models?.Dispose();

    // The steps of an apply of two changes: planned 1, move 1, done 1, planned 2, move 2, done 2, complete.
    [TestMethod]
    [DataRow(2, new[] { "done", "unplanned" }, DisplayName = "killed after the first move, before its 'done' line")]
    [DataRow(4, new[] { "done", "before" }, DisplayName = "killed after the second 'planned' line, before its move")]
    [DataRow(5, new[] { "done", "done" }, DisplayName = "killed after the second move, before its 'done' line")]
    public async Task A_kill_during_apply_leaves_each_change_before_or_after_and_undo_restores(int haltAfter, string[] expected)
    {
        using var temp = new TempFolder("petsml-review-kill");
        var data = Path.GetFullPath(temp.Combine("photos"));
        ReviewServerRun.CopyFolder(s_models.Folder.Combine("images"), data);
        var original = ReviewServerRun.Hashes(data);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "petsml.dll"), "review", "--model", s_models.ModelA, "--data", data,
                     "--precision", "fp32", "--halt-after-steps", haltAfter.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        try
        {
            string? url = null;
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (url is null && DateTime.UtcNow < deadline)
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(3));
                if (line is null) break;
                if (line.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) url = line.Trim();
            }
            Assert.IsNotNull(url, $"petsml review printed no address; stderr:\n{stderr}");
            var token = new Uri(url).Query["?token=".Length..];

            using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
            var body = JsonSerializer.Serialize(new
            {
                changes = new object[] { new { path = "Red_disc_1.jpg", action = "relabel", label = "blue_triangle" }, new { path = "green_square_2.jpg", action = "delete" } },
            });
            // The server halts inside the apply, so this request never gets its answer; the test kills the process instead.
            var apply = client.PostAsync($"/api/apply?token={token}", new StringContent(body, Encoding.UTF8, "application/json"));
            for (int i = 0; i < 600 && !stderr.ToString().Contains("halted after", StringComparison.Ordinal); i++) await Task.Delay(100);
            StringAssert.Contains(stderr.ToString(), $"halted after {haltAfter} steps");
            process.Kill(entireProcessTree: true);
            Assert.IsTrue(process.WaitForExit(30_000), "the killed process did not end");
            try { await apply; } catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
        }
        finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }

        // Each change is before or after: its photo is at exactly one of its two places, never lost, never doubled.
        string relabeledFrom = Path.Combine(data, "Red_disc_1.jpg"), deletedFrom = Path.Combine(data, "green_square_2.jpg");
        var relabeledTo = Directory.GetFiles(data, "blue_triangle_*.jpg").Select(Path.GetFileName).Except(original.Keys).ToList();
        var deletedTo = Path.Combine(data, ReviewJournal.TrashFolderName, "1", "green_square_2.jpg");
        Assert.AreEqual(expected[0] == "done", !File.Exists(relabeledFrom));
        Assert.HasCount(expected[0] == "done" ? 1 : 0, relabeledTo);
        Assert.AreEqual(expected[1] == "done", File.Exists(deletedTo));
        Assert.AreEqual(expected[1] == "done", !File.Exists(deletedFrom));
        var hashes = ReviewServerRun.Hashes(data);
        CollectionAssert.AreEquivalent(original.Values.ToList(), hashes.Values.ToList(), "every photo is somewhere, once");

        // The journal, once looked at (as the next start or undo does), says which.
        using (var journal = ReviewJournal.Open(data))
        {
            journal.Recover();
            var changes = journal.Changes().Where(c => c.Apply == 1).OrderBy(c => c.Change).Select(c => c.Step).ToList();
            var written = expected.Where(e => e != "unplanned").ToList();
            CollectionAssert.AreEqual(written, changes, string.Join('\n', File.ReadAllLines(journal.JournalPath)));
            Assert.IsTrue(journal.Read().Any(e => e.Apply == 1 && e.Step == "complete"), "recovery closes the apply");
        }

        var undo = HostRunner.Run("review", "--data", data, "--undo");
        Assert.AreEqual(ExitCodes.Success, undo.ExitCode, undo.Error);
        StringAssert.Contains(undo.Out, "Undid apply 1");
        CollectionAssert.AreEqual(original, ReviewServerRun.Hashes(data), "undo restores the folder byte for byte");
        var again = HostRunner.Run("review", "--data", data, "--undo");
        Assert.AreEqual(ExitCodes.Success, again.ExitCode, again.Error);
        StringAssert.Contains(again.Out, "Nothing to undo");
    }
}
