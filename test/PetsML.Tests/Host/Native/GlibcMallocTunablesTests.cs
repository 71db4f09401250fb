using System.Text.Json;
using PetsML.Tests.Support;
using PetsML.Host.Native;

namespace PetsML.Tests.Host.Native;

/// <summary>
/// petsml restarts itself once under glibc tunables that keep libtorch's freed activations from staying in the process
/// (see GlibcMallocTunables): when, and that the restart keeps the process, its arguments and its environment.
/// </summary>
[TestClass]
public sealed class GlibcMallocTunablesTests
{
    [TestMethod]
    public void The_tunables_apply_only_on_glibc_2_35_with_transparent_huge_pages_and_no_choice_of_the_user()
    {
        var glibc = new Version(2, 36);
        Assert.IsNull(GlibcMallocTunables.WhyNot(null, null, glibc, "madvise"));
        Assert.IsNull(GlibcMallocTunables.WhyNot(null, "1", glibc, "always"));
        StringAssert.Contains(GlibcMallocTunables.WhyNot(null, "0", glibc, "madvise"), "PETSML_GLIBC_TUNABLES=0");
        StringAssert.Contains(GlibcMallocTunables.WhyNot("glibc.malloc.arena_max=2", null, glibc, "madvise"), "already set");
        StringAssert.Contains(GlibcMallocTunables.WhyNot(null, null, null, "madvise"), "not glibc");
        StringAssert.Contains(GlibcMallocTunables.WhyNot(null, null, new Version(2, 31), "madvise"), "2.35");
        StringAssert.Contains(GlibcMallocTunables.WhyNot(null, null, glibc, "never"), "never");
        StringAssert.Contains(GlibcMallocTunables.WhyNot(null, null, glibc, null), "not available");
        Assert.AreEqual(GlibcMallocTunables.ServingValue, GlibcMallocTunables.ValueFor("serve"));
        Assert.AreEqual(GlibcMallocTunables.Value, GlibcMallocTunables.ValueFor("train"));
        Assert.AreEqual("madvise", GlibcMallocTunables.SelectedMode("always [madvise] never\n"));
        Assert.IsNull(GlibcMallocTunables.SelectedMode("garbage"));
    }

    [TestMethod]
    public void A_restart_keeps_the_process_id_and_every_argument_and_sets_the_tunables_once()
    {
        string[] args = ["plain", "with space", "", "ünïcødé", "--flag=x"];
        var (lines, status) = FreshProcess.GlibcTunablesLines(args, new Dictionary<string, string?>
        {
            ["GLIBC_TUNABLES"] = null, [GlibcMallocTunables.OptOutVariable] = null, ["PETSML_PROBE_MARK"] = "kept",
        });

        // The test process is not a restarted one; it has the machine's answer with the variables the probe starts with.
        bool restarts = GlibcMallocTunables.WhyNot(null, null, GlibcMallocTunables.GlibcVersion(), GlibcMallocTunables.TransparentHugePageMode()) is null;
        Assert.HasCount(restarts ? 2 : 1, lines, string.Join('\n', lines));
        Assert.AreEqual(JsonValueKind.Null, lines[0].GetProperty("tunables").ValueKind);
        foreach (var line in lines)
        {
            CollectionAssert.AreEqual(args, line.GetProperty("args").EnumerateArray().Select(a => a.GetString()).ToArray());
            Assert.AreEqual("kept", line.GetProperty("mark").GetString(), "the environment survives the restart");
        }
        if (restarts)
        {
            Assert.AreEqual(lines[0].GetProperty("pid").GetInt32(), lines[1].GetProperty("pid").GetInt32(), "execve keeps the process");
            Assert.AreEqual(GlibcMallocTunables.Value, lines[1].GetProperty("tunables").GetString());
            Assert.AreEqual($"on (GLIBC_TUNABLES={GlibcMallocTunables.Value})", status);
        }
        else
        {
            StringAssert.StartsWith(status, "off: ");
        }
    }

    [TestMethod]
    public void No_restart_when_the_user_chose_tunables_or_opted_out()
    {
        var (chosen, chosenStatus) = FreshProcess.GlibcTunablesLines(["a"], new Dictionary<string, string?>
        {
            ["GLIBC_TUNABLES"] = "glibc.malloc.arena_max=2", [GlibcMallocTunables.OptOutVariable] = null,
        });
        Assert.HasCount(1, chosen);
        Assert.AreEqual("off: GLIBC_TUNABLES is set to the user's 'glibc.malloc.arena_max=2'", chosenStatus);
        Assert.AreEqual("glibc.malloc.arena_max=2", chosen[0].GetProperty("tunables").GetString());

        var (optedOut, optedOutStatus) = FreshProcess.GlibcTunablesLines(["a"], new Dictionary<string, string?>
        {
            ["GLIBC_TUNABLES"] = null, [GlibcMallocTunables.OptOutVariable] = "0",
        });
        Assert.HasCount(1, optedOut);
        Assert.AreEqual("off: PETSML_GLIBC_TUNABLES=0", optedOutStatus);
    }

    [TestMethod]
    public void Serve_restarts_with_huge_pages_only()
    {
        var (lines, status) = FreshProcess.GlibcTunablesLines(["serve", "--model", "m.zip"], new Dictionary<string, string?>
        {
            ["GLIBC_TUNABLES"] = null, [GlibcMallocTunables.OptOutVariable] = null,
        });
        bool restarts = GlibcMallocTunables.WhyNot(null, null, GlibcMallocTunables.GlibcVersion(), GlibcMallocTunables.TransparentHugePageMode()) is null;
        Assert.HasCount(restarts ? 2 : 1, lines, string.Join('\n', lines));
        if (restarts)
        {
            Assert.AreEqual(GlibcMallocTunables.ServingValue, lines[1].GetProperty("tunables").GetString());
            Assert.AreEqual($"on (GLIBC_TUNABLES={GlibcMallocTunables.ServingValue})", status);
        }
        else
        {
            StringAssert.StartsWith(status, "off: ");
        }
    }

    /// <summary>
    /// The runtime removes its diagnostic IPC socket (dotnet-diagnostic-PID-KEY-socket, in TMPDIR) when it shuts down,
    /// which the first process of a restart never does (execve replaces it): that socket used to stay behind, one a run.
    /// </summary>
    [TestMethod]
    public void A_run_leaves_no_diagnostic_socket_in_the_temporary_folder()
    {
        using var temp = new TempFolder("petsml-tunables-tmp");
        var (lines, _) = FreshProcess.GlibcTunablesLines(["a"], new Dictionary<string, string?>
        {
            ["GLIBC_TUNABLES"] = null, [GlibcMallocTunables.OptOutVariable] = null, ["TMPDIR"] = temp.Path,
        });
        bool restarts = GlibcMallocTunables.WhyNot(null, null, GlibcMallocTunables.GlibcVersion(), GlibcMallocTunables.TransparentHugePageMode()) is null;
        Assert.HasCount(restarts ? 2 : 1, lines, "the probe ran (and restarted where this machine restarts)");
        var left = Directory.GetFiles(temp.Path, "dotnet-diagnostic-*").Select(Path.GetFileName).ToList();
        Assert.IsEmpty(left, "left in the temporary folder: " + string.Join(", ", left));
    }
}
